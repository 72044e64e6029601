import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { createMigrator } from '../../shared/migrations/engine.js';
import { latestVersion } from '../../shared/migrations/index.js';
import { VideoDB } from '../../shared/db/video-db.js';
import { CapabilityCache } from '../../shared/db/capabilities.js';
import { createLogger, memoryLogger } from '../../shared/log.js';

const uploads = 200;

describe.each(backends)('uploads while the migration runs, on %s', (backend) => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await openTestDatabase(backend);
    await createMigrator({ driver: db.driver }).up({ to: 1 });
  });
  afterEach(async () => {
    await db.dispose();
  });

  it(`accepts all ${uploads} concurrent creates from 0001 to latest, and keeps every Mux field somewhere`, async () => {
    const logger = memoryLogger('info');
    // A short TTL so the creates see the schema change while they run, as a busy container would over a minute.
    const capabilities = new CapabilityCache(db.driver, { ttlMs: 20, incompleteTtlMs: 5 });
    const videos = new VideoDB({ executor: db.driver, capabilities, logger });

    const create = (index: number) => {
      const id = randomUUID();
      return videos.createWithFallback({
        id,
        ownerId: `owner-${index % 7}`,
        title: `video ${index}`,
        originalFilename: `clip-${index}.mp4`,
        contentType: 'video/mp4',
        sizeBytes: 1_000 + index,
        s3Key: `uploads/${id}/source.mp4`,
        mux: { status: 'pending', options: { captions: index % 2 === 0, normalizeAudio: true, mp4: false } },
      });
    };
    // Three waves of creates, each launched as the migration reaches a new point (before 0002, as 0002's steps start,
    // as 0003's index builds start), so the creates overlap every phase of the migration rather than one side of it.
    const creates: Promise<Awaited<ReturnType<typeof create>>>[] = [];
    const launch = (count: number) => {
      for (let index = 0; index < count && creates.length < uploads; index += 1) creates.push(create(creates.length));
    };
    const migratorLogger = createLogger({
      level: 'info',
      sink: (line) => {
        const { event, version, step } = JSON.parse(line) as { event: string; version?: number; step?: number };
        if (event === 'migrate.step.start' && step === 1 && (version === 2 || version === 3)) launch(70);
      },
    });
    launch(60);
    const migrated = await createMigrator({ driver: db.driver, logger: migratorLogger }).up();
    launch(uploads); // whatever the waves did not launch yet (none, unless a phase was skipped)
    expect(creates).toHaveLength(uploads);
    const results = await Promise.allSettled(creates);

    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    // The creates really straddled the migration: some were written before the Mux columns existed, some after.
    const fallbacks = results.map((result) => result.status === 'fulfilled' && result.value.usedFallback);
    expect(fallbacks).toContain(true);
    expect(fallbacks).toContain(false);
    expect(migrated.currentVersion).toBe(latestVersion);
    const { rows } = await db.driver.execute<{ count: bigint }>('SELECT count(*) AS count FROM videos');
    expect(rows[0]?.count).toBe(BigInt(uploads));

    // Nothing lost: each video's ingest options are in its column, in deferred_mux_data, or in a deferred-data log
    // event (written before 0002 existed), from which the reconcile job restores them.
    const { rows: stored } = await db.driver.execute<{ id: string; mux_options: unknown; payload: unknown }>(
      `SELECT v.id, v.mux_options, d.payload FROM videos v LEFT JOIN deferred_mux_data d ON d.video_id = v.id`,
    );
    const logged = new Set(
      logger.lines.filter((line) => line.event === 'videodb.create.deferred_mux_data').map((line) => String(line.videoId)),
    );
    const lost = stored.filter((row) => row.mux_options === null && row.payload === null && !logged.has(row.id));
    expect(lost).toEqual([]);
  });
});
