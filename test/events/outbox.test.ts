/**
 * The events outbox against a real database (PGlite, and PostgreSQL when DATABASE_URL is set): the statement that
 * changes a video records its event, the function publishes and acknowledges it, and what was not acknowledged (a
 * failed publish, a crash before or after PutEvents) is republished by the sweep with the same event id.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapabilityCache } from '../../shared/db/capabilities.js';
import type { Executor } from '../../shared/db/driver.js';
import { VideoDB } from '../../shared/db/video-db.js';
import { EventOutbox } from '../../shared/events/outbox.js';
import { detailSchemas } from '../../shared/events/video-event-schema.js';
import { memoryLogger } from '../../shared/log.js';
import { latestVersion } from '../../shared/migrations/index.js';
import { VideoDeletion } from '../../shared/videos/video-deletion.js';
import { presentVideo } from '../../shared/videos/presenter.js';
import type { PendingWorkKind, PendingWorkNotes } from '../../shared/storage/pending-work.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { recordingPublisher, type RecordingPublisher } from '../support/events.js';
import { newVideo } from '../support/videos.js';

/** Counts the statements that reach the database (each is one Data API call in AWS). */
function counting(executor: Executor): Executor & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    execute: (sql, params, options) => {
      calls.push(sql.trim().split(/\s+/).slice(0, 3).join(' '));
      return executor.execute(sql, params, options);
    },
    batch: (sql, parameterSets) => {
      calls.push(`batch ${sql.trim().split(/\s+/).slice(0, 2).join(' ')}`);
      return executor.batch(sql, parameterSets);
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe.each(backends)('the events outbox on %s', (backend) => {
  let db: TestDatabase;
  let executor: ReturnType<typeof counting>;
  let publisher: RecordingPublisher;
  let notes: PendingWorkKind[];
  let outbox: EventOutbox;
  let videos: VideoDB;
  let logger: ReturnType<typeof memoryLogger>;

  async function open(migratedTo: number) {
    db = await openTestDatabase(backend, { migratedTo });
    executor = counting(db.driver);
    publisher = recordingPublisher();
    notes = [];
    logger = memoryLogger();
    const pendingWork: PendingWorkNotes = { note: async (kind) => void notes.push(kind) };
    const capabilities = new CapabilityCache(executor);
    outbox = new EventOutbox({ executor, capabilities, publisher, present: (video) => presentVideo(video), logger, pendingWork });
    videos = new VideoDB({ executor, capabilities, events: outbox });
  }

  async function unpublished(): Promise<number> {
    const { rows } = await db.driver.execute('SELECT count(*)::int AS n FROM video_events WHERE published_at IS NULL');
    return Number(rows[0]?.n);
  }

  afterEach(async () => {
    await db.dispose();
  });

  describe('on the latest schema', () => {
    beforeEach(async () => open(latestVersion));

    it('records the creation in the INSERT itself, publishes it, and acknowledges it: two statements', async () => {
      await videos.capabilities.get();
      executor.calls.length = 0;
      const { video } = await videos.createWithFallback(newVideo({ title: 'Keynote' }));
      expect(executor.calls).toEqual(['WITH created AS', 'UPDATE video_events SET']);
      expect(publisher.events).toHaveLength(1);
      const [event] = publisher.events;
      expect(event?.detailType).toBe('Video Upload Created');
      expect(event?.detail).toMatchObject({ videoId: video.id, ownerId: 'alice', status: 'awaiting_upload', video: { id: video.id, title: 'Keynote', status: 'awaiting_upload' } });
      expect(event?.detail.video).toEqual(presentVideo(video));
      const { rows } = await db.driver.execute('SELECT event_id, published_at, publish_attempts FROM video_events');
      expect(rows).toEqual([{ event_id: event?.detail.eventId, published_at: expect.any(Date), publish_attempts: 1 }]);
      expect(new Date(event?.detail.occurredAt ?? 0).getTime()).toBeGreaterThan(Date.now() - 60_000);
    });

    it('records one event per status change, and none for a write that leaves the status (or is refused)', async () => {
      const { video } = await videos.createWithFallback(newVideo());
      await videos.transition(video.id, { from: ['awaiting_upload'], to: 'uploaded' });
      await videos.transition(video.id, { from: ['awaiting_upload'], to: 'uploaded' }); // refused: already uploaded
      await videos.claimIngest(video.id, { from: ['uploaded'] });
      await videos.attachMuxAsset(video.id, { replaces: null, attempt: 1, mux: { assetId: 'asset-1', status: 'preparing' } }); // status stays
      await videos.restoreMuxFields(video.id, { assetId: 'asset-1', playbackId: 'play-1' }, 'ready');
      expect(publisher.events.map((event) => event.detailType)).toEqual(['Video Upload Created', 'Video Uploaded', 'Video Processing', 'Video Ready']);
      expect(publisher.events.at(-1)?.detail.video.mux?.playbackId).toBe('play-1');
      expect(new Set(publisher.events.map((event) => event.detail.eventId)).size).toBe(4);
      // Each as docs/EVENTS.md's schema of its detail-type says.
      for (const event of publisher.events) expect(detailSchemas[event.detailType].safeParse(event.detail).error).toBeUndefined();
      expect(await unpublished()).toBe(0);
    });

    it('of two concurrent moves from the same status, only the one that moved the video records an event', async () => {
      const { video } = await videos.createWithFallback(newVideo({ status: 'uploaded' }));
      const claims = await Promise.all([videos.claimIngest(video.id, { from: ['uploaded'] }), videos.claimIngest(video.id, { from: ['uploaded'] })]);
      expect(claims.filter((claim) => claim.video !== null)).toHaveLength(1);
      const { rows } = await db.driver.execute(`SELECT status FROM video_events WHERE video_id = :id ORDER BY occurred_at`, { id: video.id });
      expect(rows.map((row) => row.status)).toEqual(['uploaded', 'processing']);
    });

    it('a failed publish leaves the event unacknowledged and noted; the sweep republishes it with the same id', async () => {
      publisher.fail(1);
      const { video } = await videos.createWithFallback(newVideo());
      expect(publisher.events).toHaveLength(0);
      expect(await unpublished()).toBe(1);
      expect(notes).toEqual(['events']);
      const { rows } = await db.driver.execute('SELECT event_id FROM video_events');
      const result = await outbox.sweep({ olderThanSeconds: 0, limit: 10 });
      expect(result).toMatchObject({ republished: 1, failed: 0, unacknowledged: 0 });
      expect(publisher.events.map((event) => [event.detail.eventId, event.detail.videoId])).toEqual([[rows[0]?.event_id, video.id]]);
      expect(await unpublished()).toBe(0);
    });

    it('the sweep leaves young events to the function publishing them, and counts a failed attempt', async () => {
      publisher.fail(2);
      await videos.createWithFallback(newVideo());
      expect(await outbox.sweep({ olderThanSeconds: 3600, limit: 10 })).toMatchObject({ republished: 0, unacknowledged: 1 });
      expect(await outbox.sweep({ olderThanSeconds: 0, limit: 10 })).toMatchObject({ republished: 0, failed: 1, unacknowledged: 1 });
      const { rows } = await db.driver.execute('SELECT publish_attempts FROM video_events');
      expect(rows[0]?.publish_attempts).toBe(1);
    });

    it('a function that dies after the commit and before PutEvents: the sweep delivers the event', async () => {
      publisher.hang('beforePut');
      const dying = videos.createWithFallback(newVideo());
      void dying;
      await settle();
      expect(publisher.events).toHaveLength(0);
      expect(await unpublished()).toBe(1);
      expect((await outbox.sweep({ olderThanSeconds: 0, limit: 10 })).republished).toBe(1);
      expect(publisher.events.map((event) => event.detailType)).toEqual(['Video Upload Created']);
    });

    it('a function that dies after PutEvents and before the acknowledgement: delivered again, same event id', async () => {
      publisher.hang('afterPut');
      void videos.createWithFallback(newVideo());
      await settle();
      expect(publisher.events).toHaveLength(1);
      expect(await unpublished()).toBe(1);
      expect((await outbox.sweep({ olderThanSeconds: 0, limit: 10 })).republished).toBe(1);
      expect(publisher.events).toHaveLength(2);
      expect(publisher.events[1]?.detail).toEqual(publisher.events[0]?.detail);
    });

    it('announces a deletion once, and the row’s removal acknowledges it: two statements in all', async () => {
      const { video } = await videos.createWithFallback(newVideo({ status: 'uploaded' }));
      const deletion = new VideoDeletion({
        executor,
        capabilities: videos.capabilities,
        events: outbox,
        storage: async () => ({ deleteVideoObjects: async () => 0, abortMultipart: async () => 'aborted' as const }),
        gateway: async () => ({ deleteAsset: async () => 'deleted' as const, listAssets: async () => ({ assets: [], nextCursor: null }) }),
        binding: async () => { throw new Error('not needed'); },
      });
      executor.calls.length = 0;
      expect((await deletion.request({ sub: 'alice', admin: false }, video.id)).result).toBe('deleted');
      expect(executor.calls).toEqual(['WITH marked AS', 'WITH acknowledged AS']);
      const deleted = publisher.events.filter((event) => event.detailType === 'Video Deleted');
      expect(deleted).toHaveLength(1);
      expect(deleted[0]?.detail).toMatchObject({ videoId: video.id, status: 'deleted', video: { status: 'deleting' } });
      expect(await unpublished()).toBe(0);
      const { rows } = await db.driver.execute('SELECT count(*)::int AS n FROM video_events WHERE video_id = :id', { id: video.id });
      expect(rows[0]?.n).toBe(2); // created (as uploaded) and deleted: the events outlive the row
    });

    it('keeps a long transcript out of the event, and says so', async () => {
      const { video } = await videos.createWithFallback(newVideo({ status: 'processing' }));
      await videos.restoreMuxFields(video.id, { assetId: 'a', transcriptText: 'word '.repeat(60_000) }, 'ready');
      const ready = publisher.events.find((event) => event.detailType === 'Video Ready');
      expect(ready?.detail.omitted).toEqual(['captions.transcriptText']);
      expect(ready?.detail.video.captions?.transcriptText).toBeNull();
      expect(Buffer.byteLength(JSON.stringify(ready?.detail))).toBeLessThan(256 * 1024);
    });
  });

  describe('before the outbox exists (migration 0005)', () => {
    beforeEach(async () => open(5));

    it('publishes each change directly, best effort, and logs that it did', async () => {
      const { video } = await videos.createWithFallback(newVideo());
      await videos.transition(video.id, { from: ['awaiting_upload'], to: 'uploaded' });
      expect(publisher.events.map((event) => [event.detailType, event.detail.videoId])).toEqual([
        ['Video Upload Created', video.id],
        ['Video Uploaded', video.id],
      ]);
      expect(logger.lines.filter((line) => line.event === 'events.published_directly')).toHaveLength(2);
      expect((await outbox.sweep({ olderThanSeconds: 0, limit: 10 })).unacknowledged).toBeNull();
    });
  });

  describe('on the legacy schema (0001)', () => {
    beforeEach(async () => open(1));

    it('publishes the changes directly too', async () => {
      const { video } = await videos.createWithFallback(newVideo({ mux: {} }));
      await videos.transition(video.id, { from: ['awaiting_upload'], to: 'cancelled' });
      expect(publisher.events.map((event) => event.detailType)).toEqual(['Video Upload Created', 'Video Upload Cancelled']);
      expect(publisher.events[0]?.detail.video.mux).toBeNull();
    });
  });
});
