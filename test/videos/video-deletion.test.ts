/**
 * The deletion state machine against a real database (PGlite, and PostgreSQL when DATABASE_URL is set): the mark is
 * a compare-and-set that says what the video was, nothing moves a video once it is `deleting`, and a deletion whose
 * row cannot be removed yet (migration 0005 not applied) stays `deleting` until it can. Mux and S3 are the narrow
 * interfaces VideoDeletion takes; the stack tests (test/stack/delete.test.ts) run them against the emulators.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteVideoRow, listDeleting, markDeleting } from '../../shared/db/video-deletion-db.js';
import { VideoDB } from '../../shared/db/video-db.js';
import { updateVideoText } from '../../shared/db/video-text-db.js';
import { latestVersion } from '../../shared/migrations/index.js';
import { assetBinder } from '../../shared/mux/binding.js';
import { VideoDeletion, type DeletionGateway, type DeletionStorage } from '../../shared/videos/video-deletion.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { newVideo } from '../support/videos.js';

const binder = assetBinder('k'.repeat(64));

/** Records what a deletion asked of S3 and Mux; `assets` is Mux's list, newest first. */
function recordingClients(assets: { id: string; passthrough: string | null }[] = []) {
  const calls: string[] = [];
  const storage: DeletionStorage = {
    async deleteVideoObjects(videoId) {
      calls.push(`s3 delete ${videoId}/`);
      return 1;
    },
    async abortMultipart({ uploadId }) {
      calls.push(`s3 abort ${uploadId}`);
      return 'aborted';
    },
  };
  const gateway: DeletionGateway = {
    async deleteAsset(assetId) {
      calls.push(`mux delete ${assetId}`);
      return 'deleted';
    },
    async listAssets() {
      calls.push('mux list');
      return { assets: assets.map((asset) => ({ ...asset, status: 'ready' }) as never), nextCursor: null };
    },
  };
  return { calls, storage: async () => storage, gateway: async () => gateway, binding: async () => binder };
}

describe.each(backends)('deleting a video on %s', (backend) => {
  let db: TestDatabase;
  let videos: VideoDB;

  beforeEach(async () => {
    db = await openTestDatabase(backend, { migratedTo: latestVersion });
    videos = new VideoDB({ executor: db.driver });
  });
  afterEach(async () => {
    await db.dispose();
  });

  it('marks once: of two concurrent marks one sees the status the video had, the other sees `deleting`', async () => {
    const { video } = await videos.createWithFallback(newVideo({ status: 'awaiting_upload' }));
    await videos.transition(video.id, { from: ['awaiting_upload'], to: 'uploaded' });
    const marks = await Promise.all([markDeleting(db.driver, { id: video.id }), markDeleting(db.driver, { id: video.id })]);
    expect(marks.map((mark) => mark?.previousStatus).sort()).toEqual(['deleting', 'uploaded']);
    expect(marks.every((mark) => mark?.video.status === 'deleting')).toBe(true);
    expect((await videos.findById(video.id))?.status).toBe('deleting');
  });

  it('does not mark another owner’s video (null, nothing changed), and marks any owner’s without one', async () => {
    const { video } = await videos.createWithFallback(newVideo());
    expect(await markDeleting(db.driver, { id: video.id, ownerId: 'bob' })).toBeNull();
    expect((await videos.findById(video.id))?.status).toBe('awaiting_upload');
    expect(await markDeleting(db.driver, { id: randomUUID() })).toBeNull();
    expect((await markDeleting(db.driver, { id: video.id }))?.previousStatus).toBe('awaiting_upload');
  });

  it('keeps every other writer off a video being deleted: claim, attach, restore, Mux events, edits', async () => {
    const { video } = await videos.createWithFallback(newVideo({ status: 'uploaded' }));
    const claimed = await videos.claimIngest(video.id, { from: ['uploaded'] });
    expect(claimed.video?.status).toBe('processing');
    await markDeleting(db.driver, { id: video.id });

    expect((await videos.claimIngest(video.id, { from: ['uploaded', 'processing', 'errored'], staleClaimSeconds: 0 })).video).toBeNull();
    expect((await videos.attachMuxAsset(video.id, { replaces: null, attempt: 1, mux: { assetId: 'asset-late', status: 'preparing' } })).video).toBeNull();
    expect((await videos.restoreMuxFields(video.id, { assetId: 'asset-late', playbackId: 'p' }, 'ready')).video).toBeNull();
    const event = await videos.applyMuxEvent(
      { id: `evt-${randomUUID()}`, type: 'video.asset.ready', objectId: 'asset-late' },
      { kind: 'progress', binding: { assetId: 'asset-late', videoId: video.id, attempt: 1 }, videoStatus: 'ready', mux: { assetId: 'asset-late', status: 'ready' } },
    );
    expect(event.video).toBeNull();
    expect(await updateVideoText(db.driver, { id: video.id, change: { title: 'back' }, refuseStatuses: ['deleting'] })).toBeNull();
    const after = await videos.findById(video.id);
    expect(after).toMatchObject({ status: 'deleting', title: 'Launch demo', mux: { assetId: null } });
  });

  it('deletes objects, then the stored asset, then the row; a second finish of a gone row changes nothing', async () => {
    const { video } = await videos.createWithFallback(newVideo({ status: 'uploaded' }));
    await videos.claimIngest(video.id, { from: ['uploaded'] });
    await videos.attachMuxAsset(video.id, { replaces: null, attempt: 1, mux: { assetId: 'asset-1', status: 'preparing' } });
    const clients = recordingClients();
    const deletion = new VideoDeletion({ executor: db.driver, ...clients });
    expect(await deletion.request({ sub: 'alice', admin: false }, video.id)).toEqual({ result: 'deleted', videoId: video.id });
    expect(clients.calls).toEqual([`s3 delete ${video.id}/`, 'mux delete asset-1']);
    expect(await videos.findById(video.id)).toBeNull();
    expect(await deleteVideoRow(db.driver, video.id)).toBe(false);
    await expect(deletion.request({ sub: 'alice', admin: false }, video.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('waits for an ingest that holds a claim without an asset; then finds, by their tag only, the assets it made', async () => {
    const { video } = await videos.createWithFallback(newVideo({ status: 'uploaded' }));
    await videos.claimIngest(video.id, { from: ['uploaded'] });
    const clients = recordingClients([
      { id: 'tagged', passthrough: binder.passthrough(video.id, 1) },
      { id: 'bare-id', passthrough: video.id },
      { id: 'forged', passthrough: `${video.id}.1.AAAAAAAAAAAAAAAAAAAAAA` },
      { id: 'other-video', passthrough: binder.passthrough(randomUUID(), 1) },
    ]);
    let clock = Date.now();
    const deletion = new VideoDeletion({ executor: db.driver, ...clients, ingestGraceSeconds: 60, now: () => new Date(clock) });
    const waiting = await deletion.request({ sub: 'root', admin: true }, video.id);
    expect(waiting).toMatchObject({ result: 'deleting', waitingFor: 'ingest', video: { status: 'deleting' } });
    expect(clients.calls).toEqual([]);
    // Asked again within the grace period: still waiting; reconcile's list does not hold it yet.
    expect(await deletion.request({ sub: 'root', admin: true }, video.id)).toMatchObject({ result: 'deleting', waitingFor: 'ingest' });
    expect(await listDeleting(db.driver, { olderThanSeconds: 60, limit: 10 })).toEqual([]);
    clock += 61_000;
    expect(await deletion.request({ sub: 'root', admin: true }, video.id)).toEqual({ result: 'deleted', videoId: video.id });
    expect(clients.calls).toEqual([`s3 delete ${video.id}/`, 'mux list', 'mux delete tagged']);
  });

  it('stays deleting while the row cannot be deleted (0005 not applied), and reconcile’s list finds it', async () => {
    const fresh = await openTestDatabase(backend, { migratedTo: 4 });
    try {
      const legacyVideos = new VideoDB({ executor: fresh.driver });
      const { video } = await legacyVideos.createWithFallback(newVideo({ s3UploadId: 'upload-1' }));
      const clients = recordingClients();
      // The application role as the functions log in, in one transaction (roles are per session).
      const outcome = await fresh.driver.transaction(async (tx) => {
        await tx.execute('SET LOCAL ROLE reelay_app');
        const deletion = new VideoDeletion({ executor: tx, ...clients });
        const marked = await markDeleting(tx, { id: video.id });
        if (marked === null) throw new Error('not marked');
        await tx.execute('SAVEPOINT before_delete');
        const result = await deletion.finish(marked.video);
        await tx.execute('ROLLBACK TO SAVEPOINT before_delete');
        return result;
      });
      expect(outcome).toMatchObject({ result: 'deleting', waitingFor: 'database_grant' });
      expect(clients.calls).toEqual(['s3 abort upload-1', `s3 delete ${video.id}/`]);
      expect((await legacyVideos.findById(video.id))?.status).toBe('deleting');
      expect((await listDeleting(fresh.driver, { olderThanSeconds: 0, limit: 10 })).map((row) => row.id)).toEqual([video.id]);
    } finally {
      await fresh.dispose();
    }
  });
});
