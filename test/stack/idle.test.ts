/**
 * Scale to zero (issue K.1): the reconcile schedule must leave an idle database paused. Through the local stack, the
 * functions as AWS runs them: "work pending" markers in the local bucket, and the local Data API's record of its last
 * call standing in for the cluster's ServerlessDatabaseCapacity metric (docs/LOCAL.md). Every Data API call is
 * counted at the local endpoint.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDriver, driverConfigFromEnv } from '../../shared/db/create-driver.js';
import { pendingWorkSettingsFromEnv, type PendingWorkListing } from '../../shared/storage/pending-work.js';
import { S3PendingWork } from '../../shared/storage/pending-work-sweep.js';
import { scheduledEvent } from '../../local/stack/functions.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { assetsFor, createUpload, getVideo, putSingle, uploadRequest, videoBytes, waitForVideo, type SingleUpload, type VideoJson } from './support.js';

interface ReconcileResult {
  restored: number;
  reconciled: number;
  deleted: number;
  failed: number;
  gate?: string;
  skipped?: true;
}

/** Makes the database look paused to the probe: its last call was two hours ago (dev pauses after 300 s). */
function letTheDatabaseIdle(stack: TestStack): void {
  stack.dataApi.stats.lastCallAt = new Date(Date.now() - 2 * 3600_000);
}

const scheduled = async (stack: TestStack) => (await stack.invoke.reconcile(scheduledEvent())) as ReconcileResult;
const markersOf = (stack: TestStack): Promise<PendingWorkListing> => {
  const settings = pendingWorkSettingsFromEnv(stack.env);
  if (settings === undefined) throw new Error('the local stack must set PENDING_WORK_BUCKET');
  return new S3PendingWork(settings).list();
};

describe('an idle day: the schedule fires 96 times and the database is never called', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.dispose());

  it('skips every scheduled run with zero Data API calls when nothing is pending and the database is paused', async () => {
    expect((await markersOf(stack)).markers).toEqual([]);
    letTheDatabaseIdle(stack);
    stack.dataApi.stats.reset();
    for (let run = 0; run < 96; run += 1) {
      const result = await scheduled(stack);
      expect(result).toMatchObject({ skipped: true, gate: 'idle', restored: 0, reconciled: 0, failed: 0 });
    }
    expect(stack.dataApi.stats.total()).toBe(0);
    expect(stack.logs.filter((line) => line.event === 'reconcile.skipped_idle')).toHaveLength(96);
    // No sweep ran, but every skipped run still reports its (zero) results: the graphs see the schedule run.
    expect(stack.logs.filter((line) => line.event === 'reconcile.summary')).toHaveLength(0);
    const failedPoints = stack.logs.filter((line) => 'ReconcileFailed' in line);
    expect(failedPoints).toHaveLength(96);
    expect(failedPoints.every((line) => line.ReconcileFailed === 0)).toBe(true);
  });

  it('runs as today when the database is awake anyway (recent traffic), then does not keep it awake by itself', async () => {
    await stack.request('GET', '/api/videos', { token: await stack.tokens.mint(`alice-${randomUUID()}`) });
    const awake = await scheduled(stack);
    expect(awake.gate).toBe('awake');
    expect(awake.skipped).toBeUndefined();
    // The run's own calls are all the activity there is: the next run leaves the cluster to pause.
    stack.dataApi.stats.reset();
    const next = await scheduled(stack);
    expect(next).toMatchObject({ skipped: true, gate: 'own_activity' });
    expect(stack.dataApi.stats.total()).toBe(0);
  });

  it('always runs when an operator invokes it, idle or not', async () => {
    letTheDatabaseIdle(stack);
    stack.dataApi.stats.reset();
    const summary = (await stack.invoke.reconcile({ action: 'reconcile' })) as ReconcileResult;
    expect(summary.gate).toBeUndefined();
    expect(stack.dataApi.stats.total()).toBeGreaterThan(0);
  });
});

describe('work left pending wakes the next scheduled run, and its markers are cleared only by a clean run', () => {
  let stack: TestStack;
  let alice: string;
  const graceSeconds = 1;

  beforeAll(async () => {
    stack = await startTestStack({ lambdaEnv: { DELETION_GRACE_SECONDS: String(graceSeconds) } });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  it('keeps the marker of a deletion Mux refused while the sweep still fails, and clears it after the run that finishes it', async () => {
    const bytes = videoBytes(64 * 1024);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Half deleted' }));
    expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
    await waitForVideo(stack, alice, created.video.id, (video) => video.status === 'ready');
    await stack.idle();
    // Mux refuses the asset's delete now and on the reconcile run after it.
    stack.muxEmulator.faults.failNextDeletes(2, 503);
    const waiting = await stack.request<{ waitingFor: string }>('DELETE', `/api/videos/${created.video.id}`, { token: alice });
    expect(waiting.status, waiting.text).toBe(202);
    const noted = await markersOf(stack);
    expect(noted.markers.map((marker) => marker.kind)).toEqual(['deletion']);

    await new Promise((resolve) => setTimeout(resolve, graceSeconds * 1000 + 100));
    letTheDatabaseIdle(stack);
    const failing = await scheduled(stack);
    expect(failing).toMatchObject({ gate: 'pending', deleted: 0 });
    expect(failing.failed).toBeGreaterThan(0);
    expect((await markersOf(stack)).markers.map((marker) => marker.key)).toEqual(noted.markers.map((marker) => marker.key));

    letTheDatabaseIdle(stack);
    const clean = await scheduled(stack);
    expect(clean).toMatchObject({ gate: 'pending', deleted: 1, failed: 0 });
    expect((await markersOf(stack)).markers).toEqual([]);
    expect((await getVideo(stack, alice, created.video.id)).status).toBe(404);

    letTheDatabaseIdle(stack);
    stack.dataApi.stats.reset();
    expect(await scheduled(stack)).toMatchObject({ skipped: true, gate: 'idle' });
    expect(stack.dataApi.stats.total()).toBe(0);
  });

  it('notes an ingest that Mux refused (given back to SQS) and its redelivery, and the next scheduled run sweeps', async () => {
    const bytes = videoBytes(64 * 1024);
    stack.muxEmulator.faults.failNextCreates(1, 503);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Retried ingest' }));
    expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
    await waitForVideo(stack, alice, created.video.id, (video) => video.status === 'ready');
    await stack.idle();
    expect((await markersOf(stack)).markers.map((marker) => marker.kind)).toContain('ingest');

    letTheDatabaseIdle(stack);
    expect(await scheduled(stack)).toMatchObject({ gate: 'pending', failed: 0 });
    expect((await markersOf(stack)).markers).toEqual([]);
  });
});

describe('a payload deferred on the legacy schema is restored by the next scheduled run after the migration, the database idle', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ schema: 'legacy', lambdaEnv: { CAPABILITY_TTL_MS: '1' } });
  });
  afterAll(() => stack?.dispose());

  it('notes the deferral and the migration, and the scheduled run restores the Mux fields without any traffic', async () => {
    const [alice, admin] = await Promise.all([stack.tokens.mint(`alice-${randomUUID()}`), stack.tokens.mint(`ops-${randomUUID()}`, { admin: true })]);
    const bytes = videoBytes(64 * 1024);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Deferred' }));
    expect(created.schema.usedFallback).toBe(true);
    expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
    await waitForVideo(stack, alice, created.video.id, (video) => video.status === 'ready');
    await stack.idle();
    expect((await getVideo(stack, alice, created.video.id)).body.video.mux).toBeNull();
    const applied = await stack.request('POST', '/api/database/run-mux-migration', { token: admin });
    expect(applied.status, applied.text).toBe(200);
    const kinds = new Set((await markersOf(stack)).markers.map((marker) => marker.kind));
    expect(kinds).toEqual(new Set(['deferred', 'migration']));

    letTheDatabaseIdle(stack);
    const run = await scheduled(stack);
    expect(run).toMatchObject({ gate: 'pending', reconciled: 1, failed: 0 });
    const [asset] = assetsFor(stack, created.video.id);
    const restored = (await getVideo(stack, alice, created.video.id)).body.video satisfies VideoJson;
    expect(restored.mux).toMatchObject({ assetId: asset?.id, status: 'ready' });
    expect((await markersOf(stack)).markers).toEqual([]);

    // Nothing left: the next firing, its own activity all there is, does not touch the database.
    stack.dataApi.stats.reset();
    expect(await scheduled(stack)).toMatchObject({ skipped: true, gate: 'own_activity' });
    expect(stack.dataApi.stats.total()).toBe(0);
  });
});

describe('an upload whose S3 event is lost, on a database that idles', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // The stranded sweep looks for uploads once 60 s old (AWS: 600 s, less than the 15 min between runs).
    stack = await startTestStack({ lambdaEnv: { RECONCILE_STRANDED_AFTER_SECONDS: '60' } });
  });
  afterAll(() => stack?.dispose());

  it('keeps the schedule sweeping until the stranded sweep finds the object, then lets the database pause', async () => {
    const alice = await stack.tokens.mint(`alice-${randomUUID()}`);
    const bytes = videoBytes(4096);
    stack.loseNextNotifications(1);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Event lost' }));
    expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
    // The run the upload's traffic wakes finds the video too young for the sweep.
    const first = await scheduled(stack);
    expect(first).toMatchObject({ gate: 'awake', stranded: 0 });
    // A period later the video is old enough, and nothing has touched the database since: it has paused.
    const driver = await createDriver(driverConfigFromEnv(stack.env));
    try {
      await driver.execute("UPDATE videos SET updated_at = updated_at - interval '2 minutes' WHERE id = CAST(:id AS uuid)", { id: created.video.id });
    } finally {
      await driver.close();
    }
    letTheDatabaseIdle(stack);
    // Without a marker this run would skip (idle), and so would every later one until some traffic came.
    const second = await scheduled(stack);
    expect(second).toMatchObject({ gate: 'pending', stranded: 1 });
    await waitForVideo(stack, alice, created.video.id, (video) => video.status === 'ready');
    // Nothing awaits an upload any more: once the markers are cleared, the schedule leaves the database alone.
    await stack.idle();
    letTheDatabaseIdle(stack);
    await scheduled(stack);
    letTheDatabaseIdle(stack);
    stack.dataApi.stats.reset();
    expect(await scheduled(stack)).toMatchObject({ skipped: true, gate: 'idle' });
    expect(stack.dataApi.stats.total()).toBe(0);
  });
});
