/**
 * The "work pending" markers in S3 (shared/storage/pending-work.ts), against the local S3: what reconcile lists
 * before a run is exactly what it clears after it, so a marker noted meanwhile survives for the next run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3Credentials } from '../../local/s3/server.js';
import { createLogger, type LogFields } from '../../shared/log.js';
import { noPendingWork, pendingNotesFor, pendingWorkSettingsFromEnv, S3PendingNotes, type PendingWorkSettings } from '../../shared/storage/pending-work.js';
import { pendingWorkFor, S3PendingWork } from '../../shared/storage/pending-work-sweep.js';
import { startTestS3, type TestS3 } from './local-s3.js';

describe('S3 markers', () => {
  let s3: TestS3;
  let settings: PendingWorkSettings;
  beforeAll(async () => {
    s3 = await startTestS3();
    // A copy: the SDK marks the credentials object it is given (`$source`).
    settings = { bucket: 'reelay-test', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { ...localS3Credentials } };
  });
  afterAll(() => s3?.dispose());

  it('lists what was noted, by kind, and clears only the listed markers: one noted after the listing stays', async () => {
    const markers = new S3PendingWork(settings);
    await markers.note('deferred', { videoId: 'v1', stored: false });
    await markers.note('deletion', { videoId: 'v2', waitingFor: 'mux' });
    const before = await markers.list();
    expect(before.markers.map((marker) => marker.kind).sort()).toEqual(['deferred', 'deletion']);
    expect(before.markers.every((marker) => marker.key.startsWith('_reelay/pending/'))).toBe(true);

    await markers.note('webhook', { eventId: 'e1' }); // during "the run"
    await markers.clear(before.markers.map((marker) => marker.key));
    expect((await markers.list()).markers.map((marker) => marker.kind)).toEqual(['webhook']);
  });

  it('writes a marker with the notes alone (one presigned, write-once PUT), which the sweep side lists', async () => {
    const notes = new S3PendingNotes(settings);
    await notes.note('migration', { by: 'admin', ran: 4 });
    const markers = new S3PendingWork(settings);
    const listing = await markers.list();
    expect(listing.markers.map((marker) => marker.kind)).toContain('migration');
    await markers.clear(listing.markers.map((marker) => marker.key));
    expect((await markers.list()).markers).toEqual([]);
  });

  it('stamps each sweep, keeping only the newest stamp, and reads its time back', async () => {
    let now = new Date('2026-12-03T07:00:00.000Z');
    const markers = new S3PendingWork(settings, { now: () => now });
    await markers.stampSweep((await markers.list()).stampKeys);
    expect((await markers.list()).lastSweepAt).toEqual(now);
    now = new Date('2026-12-03T07:15:00.000Z');
    await markers.stampSweep((await markers.list()).stampKeys);
    const listing = await markers.list();
    expect(listing.lastSweepAt).toEqual(now);
    expect(listing.stampKeys).toHaveLength(1);
  });

  it('never fails the caller when a marker cannot be written: it logs a warning', async () => {
    const lines: LogFields[] = [];
    const logger = createLogger({ level: 'warn', sink: (line) => lines.push(JSON.parse(line) as LogFields) });
    const unreachable = new S3PendingWork({ ...settings, bucket: 'no-such-bucket' }, { logger });
    await expect(unreachable.note('ingest', { messages: 1 })).resolves.toBeUndefined();
    expect(lines.map((line) => line.event)).toEqual(['pending_work.note_failed']);
    await expect(unreachable.list()).rejects.toThrow();
  });

  it('is configured by PENDING_WORK_BUCKET, and is none without it', () => {
    expect(pendingWorkSettingsFromEnv({})).toBeUndefined();
    expect(pendingWorkFor(undefined)).toBe(noPendingWork);
    expect(pendingNotesFor(undefined)).toBe(noPendingWork);
    expect(noPendingWork.durable).toBe(false);
    const parsed = pendingWorkSettingsFromEnv({ PENDING_WORK_BUCKET: 'b', S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    expect(parsed).toEqual({ bucket: 'b', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    expect(pendingWorkFor(parsed).durable).toBe(true);
    // In AWS the role's keys from Lambda's environment sign the PUT (no S3 client in the writers' bundles).
    expect(pendingWorkSettingsFromEnv({ PENDING_WORK_BUCKET: 'b', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' })).toEqual({
      bucket: 'b',
      region: 'us-east-1',
      forcePathStyle: false,
      roleCredentials: { accessKeyId: 'AKIA', secretAccessKey: 's', sessionToken: 't' },
    });
  });
});
