/**
 * End to end: production's situation before the fix. The database is at 0001 (no Mux columns);
 * uploads still work and say they used the fallback. An admin runs the migration while the stack serves traffic;
 * from then on new uploads carry their Mux fields, and reconcile fills in the videos processed before it — nothing
 * Mux knows about is lost.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestVersion } from '../../shared/migrations/index.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { assetsFor, createUpload, getVideo, isReady, putSingle, uploadRequest, videoBytes, videoDurationSeconds, waitForVideo, type SingleUpload, type VideoJson } from './support.js';

// Capabilities are cached per function container (60 s, 5 s while columns are missing). With a 1 ms TTL every
// function re-reads them on its first call after the migration, which itself takes longer than that, so no test
// waits out a TTL; the cache's expiry is covered with an injected clock in test/db/video-db.test.ts.
const capabilityTtlMs = 1;

describe('the legacy schema (0001) through the local stack, migrated live', () => {
  let stack: TestStack;
  let alice: string;
  let admin: string;
  const bytes = videoBytes(128 * 1024);
  /** Uploaded and processed by Mux before the migration. */
  let processedBefore: string;
  /** Created before the migration, uploaded after it. */
  let uploadedAfter: { id: string; upload: SingleUpload };

  beforeAll(async () => {
    stack = await startTestStack({ schema: 'legacy', lambdaEnv: { CAPABILITY_TTL_MS: String(capabilityTtlMs) } });
    [alice, admin] = await Promise.all([stack.tokens.mint(`alice-${randomUUID()}`), stack.tokens.mint(`ops-${randomUUID()}`, { admin: true })]);
  });
  afterAll(() => stack?.dispose());

  it('starts at 0001 and says so on the admin’s health check', async () => {
    expect(stack.database.migrated.currentVersion).toBe(1);
    const health = await stack.request<{ status: string; schema: { version: number; pending: number[]; muxColumns: { missing: string[] } } }>(
      'GET', '/api/database/health/details', { token: admin },
    );
    expect(health.status).toBe(200);
    expect(health.body.schema.version).toBe(1);
    expect(health.body.schema.pending.length).toBe(latestVersion - 1);
    expect(health.body.schema.muxColumns.missing.length).toBeGreaterThan(0);
  });

  it('accepts uploads on the legacy schema, reporting the fallback, and they are processed', async () => {
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Before the fix' }));
    expect(created.schema).toMatchObject({ muxColumns: { present: false }, usedFallback: true });
    expect(created.schema.muxColumns.missing.length).toBeGreaterThan(0);
    expect(created.video.mux).toBeNull();
    processedBefore = created.video.id;
    expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
    // The legacy table has a status column: the video still moves to ready; its Mux data waits in Mux.
    const ready = await waitForVideo(stack, alice, processedBefore, (video) => video.status === 'ready');
    expect(ready.mux).toBeNull();
    expect(assetsFor(stack, processedBefore)).toHaveLength(1);

    const waiting = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Uploaded after the fix' }));
    expect(waiting.schema.usedFallback).toBe(true);
    uploadedAfter = { id: waiting.video.id, upload: waiting.upload as SingleUpload };
    await stack.idle();
  });

  it('runs the migration from the admin route while the stack is up', async () => {
    const before = await stack.request<{ currentVersion: number; pending: Array<{ version: number }> }>('GET', '/api/database/run-mux-migration', { token: admin });
    expect(before.status, before.text).toBe(200);
    expect(before.body.currentVersion).toBe(1);
    expect(before.body.pending.map((migration) => migration.version)).toEqual(Array.from({ length: latestVersion - 1 }, (_, index) => index + 2));

    const applied = await stack.request<{ ran: Array<{ version: number }>; durationMs: number; status: { currentVersion: number; pending: unknown[] } }>(
      'POST', '/api/database/run-mux-migration', { token: admin },
    );
    expect(applied.status, applied.text).toBe(200);
    expect(applied.body.ran.map((migration) => migration.version)).toEqual(before.body.pending.map((migration) => migration.version));
    expect(applied.body.status).toMatchObject({ currentVersion: latestVersion, pending: [] });
    expect(applied.body.durationMs).toEqual(expect.any(Number));
  });

  it('gives new uploads their Mux fields', async () => {
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'After the fix' }));
    expect(created.schema).toEqual({ muxColumns: { present: true, missing: [] }, usedFallback: false });
    expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
    const ready = await waitForVideo(stack, alice, created.video.id, isReady);
    expect(ready.mux?.assetId).toBe(assetsFor(stack, created.video.id)[0]?.id);
  });

  it('processes a video created on the legacy schema but uploaded after the migration, with its Mux fields', async () => {
    expect((await putSingle(uploadedAfter.upload, bytes)).status).toBe(200);
    const ready = await waitForVideo(stack, alice, uploadedAfter.id, isReady);
    expect(ready.mux?.assetId).toBe(assetsFor(stack, uploadedAfter.id)[0]?.id);
  });

  it('reconciles the video processed before the migration from Mux, so nothing is lost', async () => {
    const stale = (await getVideo(stack, alice, processedBefore)).body.video;
    expect(stale.mux?.assetId ?? null).toBeNull();

    await stack.invoke.reconcile();
    const [asset] = assetsFor(stack, processedBefore);
    const reconciled = (await getVideo(stack, alice, processedBefore)).body.video;
    expect(reconciled.status).toBe('ready');
    expect(reconciled.mux).toMatchObject({
      assetId: asset?.id,
      playbackId: asset?.json.playback_ids[0]?.id,
      status: 'ready',
      aspectRatio: '16:9',
    });
    expect(reconciled.mux?.durationSeconds).toBe(videoDurationSeconds);
    expect(reconciled.mux?.thumbnailUrl).toEqual(expect.stringContaining(asset?.json.playback_ids[0]?.id ?? '?'));
    // Reconciling again finds nothing left to do and changes nothing, and no second asset was created.
    await stack.invoke.reconcile();
    expect((await getVideo(stack, alice, processedBefore)).body.video).toEqual(reconciled satisfies VideoJson);
    expect(assetsFor(stack, processedBefore)).toHaveLength(1);
  });
});
