/**
 * Fault family 5: the schema changes under traffic. The stack starts on the legacy schema (0001); a
 * migration runner dies in the middle of 0002 and leaves its lease behind; then, while 500 uploads run, an admin
 * applies the migrations (POST /api/database/run-mux-migration), which waits out the dead runner's lease and
 * finishes its work. Every upload — before, during and after — ends with one row, one asset and `ready`, and the
 * Mux data of the videos processed on the old schema is reconciled: nothing lost.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/log.js';
import { createMigrator } from '../../shared/migrations/engine.js';
import { latestVersion } from '../../shared/migrations/index.js';
import { eventually, type TestStack } from '../support/local-stack.js';
import { killableDriver, RunnerKilled } from '../migrations/support.js';
import { expectEndState, getVideo, logCounts, mapWithLimit, recordFigures, smallVideo, stackDatabase, startReliabilityStack, titles, uploadVideo, type ClientUpload } from './support.js';

const uploadsInRun = 500;
const clientConcurrency = 100;
/** Uploads done on the old schema before the admin starts the migration. */
const migrateAfter = 50;

describe('migrations applied while 500 uploads run', () => {
  let stack: TestStack;
  let alice: string;
  let admin: string;

  beforeAll(async () => {
    // A short capability cache, so the functions notice the new columns soon after the migration.
    stack = await startReliabilityStack({ schema: 'legacy', lambdaEnv: { CAPABILITY_TTL_MS: '500' } });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
    admin = await stack.tokens.mint(`ops-${randomUUID()}`, { admin: true });
    expect(stack.database.migrated.currentVersion).toBe(1);
  });
  afterAll(() => stack?.dispose());

  it('a runner killed mid-way, then the migration run by an admin during traffic: nothing lost', async (context) => {
    const logMark = stack.logs.length;

    // The runner "dies" at the first ALTER of 0002: its earlier work stays, its lease is never released.
    const database = await stackDatabase(stack);
    const doomedDriver = killableDriver(database, /ALTER TABLE videos/);
    const killed = await createMigrator({ driver: doomedDriver, lease: { ttlMs: 2_000, owner: 'doomed' }, logger: createLogger({ level: 'error', sink: () => {} }) })
      .up()
      .catch((error: unknown) => error);
    expect(doomedDriver.killed).toBe(true);
    expect(killed instanceof RunnerKilled || (killed as Error).cause instanceof RunnerKilled).toBe(true);
    const { rows: leases } = await database.execute<{ owner: string }>('SELECT owner FROM schema_migrations_lock');
    expect(leases.map((row) => row.owner.split('/')[0])).toEqual(['doomed']);
    await database.close();

    let done = 0;
    let migration: Promise<{ status: number; text: string; body: { ran?: unknown[] } }> | undefined;
    const uploads = await mapWithLimit(titles('migration', uploadsInRun), clientConcurrency, async (title) => {
      const upload = await uploadVideo(stack, alice, title, { bytes: smallVideo });
      done += 1;
      if (done === migrateAfter) migration = stack.request('POST', '/api/database/run-mux-migration', { token: admin });
      return upload;
    });
    if (!migration) throw new Error('the migration never started');
    const migrated = await migration;
    expect(migrated.status, migrated.text).toBe(200);
    expect(migrated.body.ran?.length).toBe(latestVersion - 1);
    const status = await stack.request<{ pending: unknown[]; drift: unknown[] }>('GET', '/api/database/run-mux-migration', { token: admin });
    expect(status.body).toMatchObject({ pending: [], drift: [] });

    // Videos processed on the old schema got their Mux data deferred; the reconcile job restores it.
    await stack.idle();
    let reconcileRuns = 0;
    await eventually(
      async () => {
        reconcileRuns += 1;
        await stack.invoke.reconcile({ action: 'reconcile', limit: 1000 });
        const missing = await videosWithoutMuxData(uploads);
        return missing.length === 0 ? true : undefined;
      },
      () => `videos still without their Mux data after ${reconcileRuns} reconcile runs`,
      120_000,
      500,
    );
    const end = await expectEndState(stack, alice, uploads, 'ready');
    const seen = logCounts(stack, logMark, ['upload.created', 'migrate.lock.wait', 'migrate.step.lock_retry', 'migrate.migration.ok', 'reconcile.recovered', 'reconcile.summary', 'videodb.create.fallback_basic', 'videodb.create.full_ok']);
    const summaries = stack.logs.slice(logMark).filter((line) => line.event === 'reconcile.summary');
    const sumOf = (field: string) => summaries.reduce((total, line) => total + Number(line[field] ?? 0), 0);
    recordFigures(context, {
      scenario: '5. Migration during traffic',
      case: `runner killed in 0002, then migrations applied by an admin after ${migrateAfter} of ${uploadsInRun} uploads (${clientConcurrency} in flight)`,
      injected: { 'migration runners killed mid-way (lease left behind)': 1, 'migrations applied under traffic': migrated.body.ran?.length ?? 0 },
      observed: {
        'uploads created on the old schema (fallback insert)': seen['videodb.create.fallback_basic'] ?? 0,
        'uploads created on the new schema': seen['videodb.create.full_ok'] ?? 0,
        'waits for the dead runner’s lease': seen['migrate.lock.wait'] ?? 0,
        'DDL lock retries': seen['migrate.step.lock_retry'] ?? 0,
        'deferred Mux data restored': sumOf('restored'),
        'videos recovered from Mux by passthrough': sumOf('reconciled'),
        'reconcile runs': reconcileRuns,
      },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });

  async function videosWithoutMuxData(uploads: readonly ClientUpload[]): Promise<string[]> {
    const missing: string[] = [];
    await mapWithLimit(uploads, 20, async (upload) => {
      const { video } = (await getVideo(stack, alice, upload.id)).body;
      if (video.mux?.status !== 'ready' || video.mux.playbackId === null || video.mux.assetId === null) missing.push(upload.id);
    });
    return missing;
  }
});
