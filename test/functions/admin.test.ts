/**
 * The operators' routes: migration status and apply (admin only), and video diagnostics on a legacy and on a
 * migrated schema. Handlers are built with createHandler(env) and reach the database through the local Data API.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/admin/handler.js';
import { sqlValue } from '../../shared/db/driver.js';
import type { HttpLambdaHandler } from '../../shared/http/index.js';
import { memoryLogger } from '../../shared/log.js';
import { muxColumnNames } from '../../shared/db/schema.js';
import { latestVersion, migrations } from '../../shared/migrations/index.js';
import { backends, type TestDatabase } from '../support/databases.js';
import type { StartedDataApi } from '../support/data-api.js';
import { adminClaims, bundledPackages, call, dataApiEnv, migrateTo, seedVideo, useDataApiDatabase, userClaims } from './admin-support.js';

const statusRoute = 'GET /api/database/run-mux-migration';
const applyRoute = 'POST /api/database/run-mux-migration';
const diagnosticsRoute = 'GET /api/debug/video-diagnostics';
const allMuxColumns = [...muxColumnNames];
const allVersions = migrations.map((migration) => migration.version);
const fastEngine = { lease: { ttlMs: 10_000, waitMs: 60_000 }, indexPoll: { intervalMs: 20 } };

describe.each(backends)('admin function on %s', (backend) => {
  const local = useDataApiDatabase(backend);
  let db: TestDatabase;
  let api: StartedDataApi;
  let handler: HttpLambdaHandler;
  const build = (extra = {}) => createHandler(dataApiEnv(api, extra), { logger: memoryLogger(), migrator: fastEngine });
  beforeEach(async () => {
    ({ db, api } = local);
    handler = await build();
  });

  describe('access', () => {
    it.each([statusRoute, applyRoute, diagnosticsRoute])('%s: 401 without a token, 403 for a non-admin, and the database untouched', async (routeKey) => {
      await migrateTo(db, 1);
      api.server.stats.reset();
      const anonymous = await call(handler, { routeKey });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error.code).toBe('unauthorized');
      expect(anonymous.headers['www-authenticate']).toBe('Bearer');
      const user = await call(handler, { routeKey, claims: userClaims });
      expect(user.status).toBe(403);
      expect(user.body.error.code).toBe('forbidden');
      expect(api.server.stats.total()).toBe(0);
      expect((await call(handler, { routeKey: statusRoute, claims: adminClaims })).body.currentVersion).toBe(1);
    });
  });

  describe('run-mux-migration', () => {
    it('GET shows applied, pending, drift, invalid indexes and the missing Mux columns at 0001', async () => {
      await migrateTo(db, 1);
      const response = await call(handler, { routeKey: statusRoute, claims: adminClaims });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        currentVersion: 1,
        latestVersion,
        applied: [{ version: 1, name: 'basic_videos' }],
        pending: migrations.slice(1).map((m) => ({ version: m.version, name: m.name })),
        drift: [],
        invalidIndexes: [],
        muxColumns: { present: [], missing: allMuxColumns },
        database: { driver: 'data-api', serverVersion: expect.stringMatching(/^\d+/) },
      });
    });

    it('POST from 0001 applies the rest, then GET shows nothing pending', async () => {
      await migrateTo(db, 1);
      const response = await call(handler, { routeKey: applyRoute, claims: adminClaims });
      expect(response.status).toBe(200);
      expect(response.body.ran).toEqual(migrations.slice(1).map((m) => ({ version: m.version, name: m.name, durationMs: expect.any(Number) })));
      expect(response.body.durationMs).toEqual(expect.any(Number));
      expect(response.body.status).toMatchObject({ currentVersion: latestVersion, pending: [], muxColumns: { missing: [] } });
      const after = await call(handler, { routeKey: statusRoute, claims: adminClaims });
      expect(after.body).toMatchObject({ currentVersion: latestVersion, pending: [], muxColumns: { present: allMuxColumns, missing: [] } });
      expect(after.body.applied.map((m: { version: number }) => m.version)).toEqual(allVersions);
    });

    it('POST ?to=2 stops at 2; a second POST applies the rest; a third has nothing to do', async () => {
      await migrateTo(db, 1);
      const first = await call(handler, { routeKey: applyRoute, rawQueryString: 'to=2', claims: adminClaims });
      expect(first.body.ran.map((m: { version: number }) => m.version)).toEqual([2]);
      expect(first.body.status.pending.map((m: { version: number }) => m.version)).toEqual(allVersions.slice(2));
      expect((await call(handler, { routeKey: applyRoute, claims: adminClaims })).body.ran.map((m: { version: number }) => m.version)).toEqual(allVersions.slice(2));
      expect((await call(handler, { routeKey: applyRoute, claims: adminClaims })).body.ran).toEqual([]);
    });

    it('POST with a malformed ?to is a 400, not a migration', async () => {
      await migrateTo(db, 1);
      const response = await call(handler, { routeKey: applyRoute, rawQueryString: 'to=latest', claims: adminClaims });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
      expect((await call(handler, { routeKey: statusRoute, claims: adminClaims })).body.currentVersion).toBe(1);
    });

    it('two concurrent POSTs (two containers) both succeed and each migration is applied once', async () => {
      await migrateTo(db, 1);
      const other = await build();
      const [a, b] = await Promise.all([
        call(handler, { routeKey: applyRoute, claims: adminClaims }),
        call(other, { routeKey: applyRoute, claims: adminClaims }),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      const ran = [...a.body.ran, ...b.body.ran].map((m: { version: number }) => m.version).sort();
      expect(ran).toEqual(allVersions.slice(1));
      const { rows } = await db.driver.execute<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((row) => row.version)).toEqual(allVersions);
      expect(a.body.status.pending).toEqual([]);
      expect(b.body.status.pending).toEqual([]);
    });

    it('an edited applied migration is refused: 500 migration_failed with the reason, for the admin', async () => {
      await migrateTo(db, 1);
      await db.driver.execute(`UPDATE schema_migrations SET checksum = 'edited-by-hand' WHERE version = 1`);
      const status = await call(handler, { routeKey: statusRoute, claims: adminClaims });
      expect(status.body.drift).toEqual([expect.objectContaining({ version: 1, appliedChecksum: 'edited-by-hand' })]);
      const response = await call(handler, { routeKey: applyRoute, claims: adminClaims });
      expect(response.status).toBe(500);
      expect(response.body.error.code).toBe('migration_failed');
      expect(response.body.error.message).toMatch(/changed after being applied/);
    });

    it('GET answers 503 database_unavailable when the cluster cannot be reached', async () => {
      await migrateTo(db, 1);
      api.server.faults.failNext('unavailable', 100);
      const impatient = await createHandler(dataApiEnv(api, {}), { logger: memoryLogger(), driver: api.driver });
      const response = await call(impatient, { routeKey: statusRoute, claims: adminClaims });
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('database_unavailable');
    });
  });

  describe('video-diagnostics', () => {
    it('on a legacy schema: counts and stuck rows, and the Mux sections waiting for 0002 (not a 500)', async () => {
      await migrateTo(db, 1);
      const stuckUpload = await seedVideo(db.driver, { status: 'awaiting_upload', createdMinutesAgo: 25 * 60 });
      await seedVideo(db.driver, { status: 'awaiting_upload', createdMinutesAgo: 5 });
      const stuckIngest = await seedVideo(db.driver, { status: 'processing', createdMinutesAgo: 180, updatedMinutesAgo: 90 });
      await seedVideo(db.driver, { status: 'uploaded', createdMinutesAgo: 10, updatedMinutesAgo: 10 });
      await seedVideo(db.driver, { status: 'ready', createdMinutesAgo: 2000 });
      const stuckDeletion = await seedVideo(db.driver, { status: 'deleting', createdMinutesAgo: 300, updatedMinutesAgo: 120 });
      await seedVideo(db.driver, { status: 'deleting', createdMinutesAgo: 300, updatedMinutesAgo: 1 });

      const response = await call(handler, { routeKey: diagnosticsRoute, claims: adminClaims });
      expect(response.status).toBe(200);
      const body = response.body;
      expect(body.counts).toEqual({
        available: true,
        total: 7,
        byStatus: { awaiting_upload: 2, uploaded: 1, processing: 1, ready: 1, errored: 0, cancelled: 0, deleting: 2 },
      });
      expect(body.stuck.uploads.count).toBe(1);
      expect(body.stuck.uploads.sample).toEqual([expect.objectContaining({ id: stuckUpload, status: 'awaiting_upload', ageMinutes: 25 * 60 })]);
      expect(body.stuck.ingests.count).toBe(1);
      expect(body.stuck.ingests.sample).toEqual([expect.objectContaining({ id: stuckIngest, status: 'processing', ageMinutes: 90 })]);
      expect(body.stuck.deletions.count).toBe(1);
      expect(body.stuck.deletions.sample).toEqual([expect.objectContaining({ id: stuckDeletion, status: 'deleting', ageMinutes: 120 })]);
      expect(body.fallback).toEqual({ available: false, reason: 'unavailable until migration 0002' });
      expect(body.muxErrors).toEqual({ available: false, reason: 'unavailable until migration 0002' });
      expect(body.unacknowledgedEvents).toEqual({ available: false, reason: 'unavailable until migration 0006' });
      expect(body.schema).toEqual({ muxColumns: { present: [], missing: allMuxColumns }, deferredTable: false });
    });

    it('on a migrated schema: fallback rows still missing Mux data, and the latest Mux errors', async () => {
      await migrateTo(db, latestVersion);
      const deferred = await seedVideo(db.driver, { status: 'processing', createdMinutesAgo: 30 });
      await db.driver.execute(`INSERT INTO deferred_mux_data (video_id, payload) VALUES (:id, :payload)`, {
        id: sqlValue.uuid(deferred),
        payload: sqlValue.json({ assetId: 'asset-1', status: 'preparing' }),
      });
      const reconciled = await seedVideo(db.driver, { status: 'ready', columns: { mux_asset_id: 'asset-2' } });
      await db.driver.execute(
        `INSERT INTO deferred_mux_data (video_id, payload, reconciled_at) VALUES (:id, :payload, now() AT TIME ZONE 'UTC')`,
        { id: sqlValue.uuid(reconciled), payload: sqlValue.json({ assetId: 'asset-2' }) },
      );
      const readyWithoutAsset = await seedVideo(db.driver, { status: 'ready', createdMinutesAgo: 60, updatedMinutesAgo: 50 });
      await seedVideo(db.driver, { status: 'awaiting_upload' });
      const olderError = await seedVideo(db.driver, {
        status: 'errored',
        updatedMinutesAgo: 20,
        columns: { mux_asset_id: 'asset-3', mux_status: 'errored', mux_error: 'input could not be read', ingest_attempts: 3 },
      });
      const newerError = await seedVideo(db.driver, {
        status: 'errored',
        updatedMinutesAgo: 1,
        columns: { mux_asset_id: 'asset-4', mux_status: 'errored', mux_error: 'unsupported codec', ingest_attempts: 1 },
      });

      const body = (await call(handler, { routeKey: diagnosticsRoute, claims: adminClaims })).body;
      expect(body.schema).toEqual({ muxColumns: { present: allMuxColumns, missing: [] }, deferredTable: true });
      expect(body.fallback.available).toBe(true);
      expect(body.fallback.deferred).toEqual({
        count: 1,
        sample: [{ videoId: deferred, status: 'processing', fields: ['assetId', 'status'], deferredAt: expect.any(String) }],
      });
      expect(body.fallback.missingMuxData.count).toBe(2);
      expect(body.fallback.missingMuxData.sample.map((video: { id: string }) => video.id)).toEqual([readyWithoutAsset, deferred]);
      expect(body.muxErrors).toMatchObject({
        available: true,
        count: 2,
        sample: [
          { id: newerError, error: 'unsupported codec', muxStatus: 'errored', ingestAttempts: 1 },
          { id: olderError, error: 'input could not be read', muxStatus: 'errored', ingestAttempts: 3 },
        ],
      });
      expect(body.counts.byStatus).toMatchObject({ processing: 1, ready: 2, awaiting_upload: 1, errored: 2 });
      expect(body.stuck.uploads.count).toBe(0);
    });

    it('lists lifecycle events left unpublished for over five minutes, oldest first', async () => {
      await migrateTo(db, latestVersion);
      const video = await seedVideo(db.driver, { status: 'ready', createdMinutesAgo: 30 });
      const record = (minutesAgo: number, published: boolean) =>
        db.driver.execute(
          `INSERT INTO video_events (video_id, status, video, occurred_at, published_at)
           VALUES (:video, 'ready', '{}'::jsonb, (now() AT TIME ZONE 'UTC') - make_interval(mins => :minutesAgo), ${published ? `(now() AT TIME ZONE 'UTC')` : 'NULL'})
           RETURNING event_id`,
          { video: sqlValue.uuid(video), minutesAgo },
        );
      const oldest = (await record(40, false)).rows[0]?.event_id;
      await record(20, false);
      await record(60, true);
      await record(1, false); // young: its function may be publishing it right now
      const body = (await call(handler, { routeKey: diagnosticsRoute, claims: adminClaims })).body;
      expect(body.unacknowledgedEvents).toMatchObject({ available: true, count: 2, sample: [{ eventId: oldest, videoId: video, status: 'ready', attempts: 0 }, { videoId: video }] });
    });

    it('thresholds come from STUCK_UPLOAD_HOURS and STUCK_INGEST_MINUTES', async () => {
      await migrateTo(db, 1);
      await seedVideo(db.driver, { status: 'awaiting_upload', createdMinutesAgo: 120 });
      await seedVideo(db.driver, { status: 'uploaded', updatedMinutesAgo: 10 });
      const defaults = (await call(handler, { routeKey: diagnosticsRoute, claims: adminClaims })).body;
      expect([defaults.stuck.uploads.count, defaults.stuck.ingests.count]).toEqual([0, 0]);
      const strict = await build({ STUCK_UPLOAD_HOURS: '1', STUCK_INGEST_MINUTES: '5' });
      const body = (await call(strict, { routeKey: diagnosticsRoute, claims: adminClaims })).body;
      expect([body.stuck.uploads.count, body.stuck.ingests.count]).toEqual([1, 1]);
      expect(body.thresholds).toEqual({ stuckUploadHours: 1, stuckIngestMinutes: 5, sampleLimit: 20 });
    });

    it('summarises the configuration without a secret in it', async () => {
      await migrateTo(db, 1);
      const configured = await build({
        MUX_TOKEN_ID: 'diag-token-id',
        MUX_TOKEN_SECRET: 'diag-token-secret',
        MUX_WEBHOOK_SECRET: 'diag-webhook-secret',
        UPLOAD_BUCKET: 'reelay-uploads',
        UPLOAD_PREFIX: 'uploads/',
        REELAY_STAGE: 'test',
      });
      const body = (await call(configured, { routeKey: diagnosticsRoute, claims: adminClaims })).body;
      expect(body.configuration).toMatchObject({
        stage: 'test',
        region: 'us-east-1',
        database: { driver: 'data-api', name: 'reelay', localEndpoint: true },
        storage: { bucket: 'reelay-uploads', prefix: 'uploads/' },
        mux: { configured: true, credentialSource: 'env' },
        thresholds: { stuckUploadHours: 24, stuckIngestMinutes: 60 },
      });
      const text = JSON.stringify(body);
      for (const secret of ['diag-token-secret', 'diag-webhook-secret', api.secretArn]) expect(text).not.toContain(secret);
    });
  });
});

describe('admin function bundle', () => {
  it('carries neither the Mux SDK nor the S3 client', async () => {
    const packages = await bundledPackages('functions/admin/handler.ts');
    expect(packages.has('@mux/mux-node')).toBe(false);
    expect(packages.has('@aws-sdk/client-s3')).toBe(false);
  });
});
