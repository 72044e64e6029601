import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { createMigrator } from '../../shared/migrations/engine.js';
import { VideoDB, type NewVideo } from '../../shared/db/video-db.js';
import { CapabilityCache, checkMuxColumnsExist } from '../../shared/db/capabilities.js';
import { muxColumnNames } from '../../shared/db/schema.js';
import { memoryLogger } from '../../shared/log.js';
import { sqlValue } from '../../shared/db/driver.js';
import type { MuxFields, VideoStatus } from '../../shared/db/video-fields.js';

function newVideo(overrides: Partial<NewVideo> = {}): NewVideo {
  const id = randomUUID();
  return {
    id,
    ownerId: 'alice',
    title: 'Launch demo',
    description: 'first cut',
    originalFilename: 'demo.mp4',
    contentType: 'video/mp4',
    sizeBytes: 6_000_000_000,
    s3Key: `uploads/${id}/source.mp4`,
    ...overrides,
  };
}

const someMuxFields: Partial<MuxFields> = {
  status: 'pending',
  options: { captions: true, normalizeAudio: true, mp4: false },
  audioEnhanced: false,
  transcriptConfidence: '0.95',
};

describe.each(backends)('VideoDB on %s', (backend) => {
  let db: TestDatabase;
  let clock: number;
  const now = () => clock;

  beforeEach(async () => {
    db = await openTestDatabase(backend);
    clock = Date.parse('2026-01-01T00:00:00Z');
  });
  afterEach(async () => {
    await db.dispose();
  });

  describe('on the legacy schema (0001)', () => {
    beforeEach(async () => {
      await createMigrator({ driver: db.driver }).up({ to: 1 });
    });

    it('reports every Mux column missing from one catalog query', async () => {
      const check = await checkMuxColumnsExist(db.driver);
      expect(check.exist).toBe(false);
      expect(check.missing).toEqual([...muxColumnNames]);
    });

    it('creates the video with the basic columns, reports the fallback, and logs the deferred Mux data', async () => {
      const logger = memoryLogger();
      const videos = new VideoDB({ executor: db.driver, logger });
      const input = newVideo({ mux: someMuxFields });

      const result = await videos.createWithFallback(input);

      expect(result.usedFallback).toBe(true);
      expect(result.missingColumns).toEqual([...muxColumnNames]);
      expect(result.deferredFields.sort()).toEqual(Object.keys(someMuxFields).sort());
      expect(result.video).toMatchObject({ id: input.id, ownerId: 'alice', sizeBytes: 6_000_000_000, status: 'awaiting_upload' });
      expect(result.video.mux.status).toBeNull();
      expect(result.video.createdAt).toBeInstanceOf(Date);

      const events = logger.lines.map((line) => line.event);
      expect(events).toContain('videodb.create.fallback_basic');
      const deferred = logger.lines.find((line) => line.event === 'videodb.create.deferred_mux_data');
      expect(deferred).toMatchObject({ videoId: input.id, payload: { options: someMuxFields.options, transcriptConfidence: '0.95' } });
    });

    it('reads the row back with Mux fields as null', async () => {
      const videos = new VideoDB({ executor: db.driver });
      const input = newVideo();
      await videos.createWithFallback(input);
      const found = await videos.findById(input.id);
      expect(found?.title).toBe('Launch demo');
      expect(Object.values(found?.mux ?? {}).every((value) => value === null)).toBe(true);
    });

    it('after the migration, stores every Mux field and reports no fallback', async () => {
      const capabilities = new CapabilityCache(db.driver, { now });
      const videos = new VideoDB({ executor: db.driver, capabilities });
      expect((await videos.createWithFallback(newVideo({ mux: someMuxFields }))).usedFallback).toBe(true);

      await createMigrator({ driver: db.driver }).up();
      clock += 5_000; // a schema found incomplete is re-checked after 5 s

      const input = newVideo({ mux: { ...someMuxFields, assetId: 'asset-1', createdAt: new Date('2026-01-01T00:00:01.250Z') } });
      const result = await videos.createWithFallback(input);
      expect(result).toMatchObject({ usedFallback: false, missingColumns: [], deferredFields: [] });
      expect(result.video.mux).toMatchObject({
        status: 'pending',
        assetId: 'asset-1',
        options: someMuxFields.options,
        audioEnhanced: false,
        transcriptConfidence: '0.95',
        ingestAttempts: 0,
      });
      expect(result.video.mux.createdAt?.toISOString()).toBe('2026-01-01T00:00:01.250Z');
    });
    it('the first create after a migration, while the cache still says columns are missing, is complete in one statement', async () => {
      const statements: string[] = [];
      const counting = {
        execute: ((sql, params, options) => {
          statements.push(sql);
          return db.driver.execute(sql, params, options);
        }) as typeof db.driver.execute,
        batch: db.driver.batch.bind(db.driver),
      };
      const logger = memoryLogger();
      const capabilities = new CapabilityCache(counting, { now, ttlMs: 600_000, incompleteTtlMs: 600_000 });
      const videos = new VideoDB({ executor: counting, capabilities, logger });
      expect((await videos.createWithFallback(newVideo({ mux: someMuxFields }))).usedFallback).toBe(true);
      await createMigrator({ driver: db.driver }).up();

      statements.length = 0;
      const input = newVideo({ mux: { ...someMuxFields, assetId: 'asset-1', createdAt: new Date('2026-01-01T00:00:01.250Z') } });
      const result = await videos.createWithFallback(input);
      expect(statements).toHaveLength(1);
      expect(result).toMatchObject({ usedFallback: false, missingColumns: [], deferredFields: [] });
      expect(result.video).toMatchObject({ id: input.id, ownerId: 'alice', sizeBytes: 6_000_000_000, status: 'awaiting_upload', s3UploadId: null });
      expect(result.video.mux).toMatchObject({ status: 'pending', assetId: 'asset-1', options: someMuxFields.options, audioEnhanced: false, transcriptConfidence: '0.95', ingestAttempts: 0 });
      expect(result.video.mux.createdAt?.toISOString()).toBe('2026-01-01T00:00:01.250Z');
      expect(result.video.createdAt).toBeInstanceOf(Date);
      expect(logger.lines.map((line) => line.event)).toContain('videodb.create.schema_changed');

      // The stale answer was dropped: the next create reads the catalog once, then writes with named columns.
      statements.length = 0;
      expect((await videos.createWithFallback(newVideo())).usedFallback).toBe(false);
      expect(statements.filter((sql) => sql.includes('information_schema.columns'))).toHaveLength(1);
      expect(statements.filter((sql) => sql.includes('jsonb_populate_record'))).toHaveLength(0);
    });

    it('on a schema still behind, the fitted INSERT writes the basic columns with their defaults and defers the rest', async () => {
      const videos = new VideoDB({ executor: db.driver });
      const result = await videos.createWithFallback(newVideo({ mux: someMuxFields, status: undefined, description: undefined }));
      expect(result).toMatchObject({ usedFallback: true, missingColumns: [...muxColumnNames] });
      expect(result.video).toMatchObject({ status: 'awaiting_upload', description: null });
      expect(result.video.createdAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    });

    it('gives columns this code does not know their defaults, and refuses none for a NOT NULL one', async () => {
      await db.driver.execute("ALTER TABLE videos ADD COLUMN region text DEFAULT 'eu'");
      const videos = new VideoDB({ executor: db.driver });
      const first = await videos.createWithFallback(newVideo());
      expect((await db.driver.execute('SELECT region FROM videos WHERE id = :id', { id: sqlValue.uuid(first.video.id) })).rows[0]?.region).toBe('eu');
      await db.driver.execute("ALTER TABLE videos ADD COLUMN tier text NOT NULL DEFAULT 'standard'");
      const second = await new VideoDB({ executor: db.driver }).createWithFallback(newVideo());
      expect((await db.driver.execute('SELECT tier FROM videos WHERE id = :id', { id: sqlValue.uuid(second.video.id) })).rows[0]?.tier).toBe('standard');
    });
  });

  describe('on the latest schema', () => {
    beforeEach(async () => {
      await createMigrator({ driver: db.driver }).up();
    });

    it('creates with every field and uses the cache: detection runs once per TTL', async () => {
      let catalogReads = 0;
      const counting = {
        execute: ((sql, params, options) => {
          if (sql.includes('information_schema.columns')) catalogReads += 1;
          return db.driver.execute(sql, params, options);
        }) as typeof db.driver.execute,
        batch: db.driver.batch.bind(db.driver),
      };
      const videos = new VideoDB({ executor: counting, capabilities: new CapabilityCache(counting, { now }) });
      await Promise.all([videos.createWithFallback(newVideo()), videos.createWithFallback(newVideo()), videos.createWithFallback(newVideo())]);
      expect(catalogReads).toBe(1);
      clock += 59_000;
      await videos.createWithFallback(newVideo());
      expect(catalogReads).toBe(1);
      clock += 2_000;
      await videos.createWithFallback(newVideo());
      expect(catalogReads).toBe(2);
    });

    it('rebuilds the statement once when the schema changed under a cached answer', async () => {
      const capabilities = new CapabilityCache(db.driver, { now });
      const videos = new VideoDB({ executor: db.driver, capabilities });
      await videos.createWithFallback(newVideo()); // caches "all columns present"
      await db.driver.execute('ALTER TABLE videos DROP COLUMN mux_options');

      const result = await videos.createWithFallback(newVideo({ mux: someMuxFields }));
      expect(result.usedFallback).toBe(true);
      expect(result.missingColumns).toEqual(['mux_options']);
      expect(result.deferredFields).toEqual(['options']);
      const { rows } = await db.driver.execute('SELECT payload FROM deferred_mux_data WHERE video_id = CAST(:id AS uuid)', {
        id: result.video.id,
      });
      expect(rows[0]?.payload).toEqual({ options: someMuxFields.options });
    });

    it('moves a video only from the expected statuses (compare-and-set)', async () => {
      const videos = new VideoDB({ executor: db.driver });
      const input = newVideo();
      await videos.createWithFallback(input);
      const first = await videos.transition(input.id, { from: ['awaiting_upload'], to: 'uploaded' });
      const second = await videos.transition(input.id, { from: ['awaiting_upload'], to: 'uploaded' });
      expect(first.video?.status).toBe('uploaded');
      expect(second.video).toBeNull();
    });

    it('never moves a video backwards when Mux reports out of order', async () => {
      const videos = new VideoDB({ executor: db.driver });
      const input = newVideo();
      await videos.createWithFallback(input);
      await videos.transition(input.id, { from: ['awaiting_upload'], to: 'processing', set: { mux: { assetId: 'a1', status: 'preparing' } } });

      let eventCount = 0;
      const progress = (assetId: string, report: { videoStatus?: VideoStatus; mux: Partial<MuxFields> }) => {
        eventCount += 1;
        return videos.applyMuxEvent(
          { id: `event-${eventCount}`, type: 'video.asset.test', objectId: assetId },
          { kind: 'progress', binding: { assetId }, ...report },
        );
      };

      const ready = await progress('a1', { videoStatus: 'ready', mux: { status: 'ready', playbackId: 'p1', durationSeconds: 12 } });
      expect(ready.video).toMatchObject({ status: 'ready', mux: { status: 'ready', playbackId: 'p1', durationSeconds: 12 } });

      const lateCreated = await progress('a1', { videoStatus: 'processing', mux: { status: 'preparing' } });
      expect(lateCreated.video).toBeNull();

      const otherAsset = await progress('a0', { videoStatus: 'errored', mux: { status: 'errored', error: 'old' } });
      expect(otherAsset.video).toBeNull();

      const captions = await progress('a1', { mux: { status: 'ready', textTrackId: 't1' } });
      expect(captions.video).toMatchObject({ status: 'ready', mux: { textTrackId: 't1', playbackId: 'p1' } });
    });

    it('pages newest first with a keyset cursor, per owner', async () => {
      const videos = new VideoDB({ executor: db.driver });
      const created: string[] = [];
      for (let index = 0; index < 7; index += 1) {
        const input = newVideo({ ownerId: index % 2 === 0 ? 'alice' : 'bob' });
        await videos.createWithFallback(input);
        created.push(input.id);
      }
      const aliceIds = created.filter((_, index) => index % 2 === 0);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await videos.list({ ownerId: 'alice', limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.videos.map((video) => video.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen.sort()).toEqual(aliceIds.sort());
      const all = await videos.list({ limit: 100 });
      expect(all.videos).toHaveLength(7);
      const times = all.videos.map((video) => video.createdAt.getTime());
      expect([...times].sort((a, b) => b - a)).toEqual(times);
    });

    it('rejects a cursor it did not issue', async () => {
      const videos = new VideoDB({ executor: db.driver });
      await expect(videos.list({ limit: 10, cursor: 'bm9wZQ' })).rejects.toMatchObject({ code: 'validation_failed' });
    });
  });
});
