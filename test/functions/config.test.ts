/**
 * Each function parses its environment once, at its edge, into one typed configuration. These cases check each
 * function's parse: what it reads, its defaults, and that a bad value fails there, naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../shared/errors.js';
import { adminConfigFromEnv } from '../../functions/admin/handler.js';
import { functionConfigFromEnv } from '../../shared/runtime/config.js';
import { ingestConfigFromEnv } from '../../functions/ingest/handler.js';
import { migrateConfigFromEnv } from '../../functions/migrate/handler.js';
import { muxWebhookConfigFromEnv } from '../../functions/mux-webhook/handler.js';
import { reconcileConfigFromEnv } from '../../functions/reconcile/handler.js';
import { uploadsConfigFromEnv } from '../../functions/uploads/handler.js';
import { videoChangesConfigFromEnv } from '../../functions/video-changes/handler.js';
import { videoDeletesConfigFromEnv } from '../../functions/video-deletes/handler.js';
import { videosConfigFromEnv } from '../../functions/videos/handler.js';

const cluster = { RDS_RESOURCE_ARN: 'arn:aws:rds:eu-west-1:1:cluster:c', RDS_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:s' };
const bucket = { UPLOAD_BUCKET: 'reelay-uploads' };
const mux = { MUX_TOKEN_ID: 'id', MUX_TOKEN_SECRET: 'secret' };

function variableOf(parse: () => unknown): string | undefined {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigurationError) return error.variable;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe("each function's configuration", () => {
  it('health reads LOG_LEVEL only (functionConfigFromEnv), leniently', () => {
    expect(functionConfigFromEnv({})).toEqual({ logLevel: 'info' });
    expect(functionConfigFromEnv({ LOG_LEVEL: 'DEBUG', UPLOAD_BUCKET: '', MUX_PLAYBACK_POLICY: 'nonsense' })).toEqual({ logLevel: 'debug' });
    expect(functionConfigFromEnv({ LOG_LEVEL: 'verbose' })).toEqual({ logLevel: 'info' });
  });

  it('videos: the database, the admin group, and the bucket only when one is set', () => {
    const config = videosConfigFromEnv({ ...cluster, ADMIN_GROUP: 'ops', CAPABILITY_TTL_MS: '500' });
    expect(config).toMatchObject({ logLevel: 'info', adminGroup: 'ops', database: { driver: { kind: 'data-api', database: 'reelay' }, capabilityTtlMs: 500 } });
    expect(config.storage).toBeUndefined();
    expect(videosConfigFromEnv({ ...bucket }).storage?.config.bucket).toBe('reelay-uploads');
    expect(variableOf(() => videosConfigFromEnv({ ...bucket, UPLOAD_URL_TTL_SECONDS: '1h' }))).toBe('UPLOAD_URL_TTL_SECONDS');
    expect(variableOf(() => videosConfigFromEnv({ CAPABILITY_TTL_MS: '0' }))).toBe('CAPABILITY_TTL_MS');
    expect(variableOf(() => videosConfigFromEnv({ ADMIN_GROUP: 'two words' }))).toBe('ADMIN_GROUP');
    expect(videosConfigFromEnv({ MUX_PLAYBACK_POLICY: 'signed', PLAYBACK_TOKEN_TTL_SECONDS: '900' }).mux).toMatchObject({ playbackPolicy: 'signed', playbackTokenTtlSeconds: 900 });
    expect(variableOf(() => videosConfigFromEnv({ PLAYBACK_TOKEN_TTL_SECONDS: '15m' }))).toBe('PLAYBACK_TOKEN_TTL_SECONDS');
  });

  it('video-changes: what videos reads (its answer is the same presented video), the bucket only when one is set', () => {
    const config = videoChangesConfigFromEnv({ ...cluster, ADMIN_GROUP: 'ops', MUX_PLAYBACK_POLICY: 'signed', PLAYBACK_TOKEN_TTL_SECONDS: '900' });
    expect(config).toMatchObject({ adminGroup: 'ops', database: { driver: { kind: 'data-api' } }, mux: { playbackPolicy: 'signed', playbackTokenTtlSeconds: 900 } });
    expect(config.storage).toBeUndefined();
    expect(videoChangesConfigFromEnv({ ...bucket }).storage?.config.bucket).toBe('reelay-uploads');
    expect(variableOf(() => videoChangesConfigFromEnv({ ADMIN_GROUP: 'two words' }))).toBe('ADMIN_GROUP');
    expect(variableOf(() => videoChangesConfigFromEnv({ PLAYBACK_TOKEN_TTL_SECONDS: '15m' }))).toBe('PLAYBACK_TOKEN_TTL_SECONDS');
  });

  it('uploads: the bucket is required, with the local S3 keys when S3_ENDPOINT is set', () => {
    const config = uploadsConfigFromEnv({ DATABASE_URL: 'postgres://db/x', ...bucket, MAX_UPLOAD_BYTES: '1000' });
    expect(config).toMatchObject({ adminGroup: 'admin', database: { driver: { kind: 'pg' }, capabilityTtlMs: 60_000 }, storage: { config: { maxUploadBytes: 1000 } } });
    expect(config.storage.credentials).toBeUndefined();
    expect(uploadsConfigFromEnv({ ...bucket, MUX_PLAYBACK_POLICY: 'signed' }).playbackPolicy).toBe('signed');
    expect(variableOf(() => uploadsConfigFromEnv({}))).toBe('UPLOAD_BUCKET');
    const local = { ...bucket, S3_ENDPOINT: 'http://127.0.0.1:4569' };
    expect(variableOf(() => uploadsConfigFromEnv(local))).toBe('AWS_ACCESS_KEY_ID');
    expect(uploadsConfigFromEnv({ ...local, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' }).storage.credentials).toEqual({ accessKeyId: 'k', secretAccessKey: 's' });
  });

  it('ingest: database, Mux, storage and the ingest settings', () => {
    const config = ingestConfigFromEnv({ ...bucket, ...mux, MUX_TIMEOUT_MS: '5000', INGEST_URL_TTL_SECONDS: '0', INGEST_STALE_CLAIM_SECONDS: '120' });
    expect(config).toMatchObject({ mux: { credentials: { tokenId: 'id' }, requestTimeoutMs: 5000, playbackPolicy: 'public' }, ingest: { inputUrlTtlSeconds: 0, staleClaimSeconds: 120 } });
    expect(config.database.driver).toEqual({ kind: 'pglite' });
    expect(variableOf(() => ingestConfigFromEnv({ ...bucket, MUX_VIDEO_QUALITY: 'ultra' }))).toBe('MUX_VIDEO_QUALITY');
    expect(variableOf(() => ingestConfigFromEnv({ ...bucket, INGEST_STALE_CLAIM_SECONDS: '-1' }))).toBe('INGEST_STALE_CLAIM_SECONDS');
    expect(variableOf(() => ingestConfigFromEnv({ ...mux }))).toBe('UPLOAD_BUCKET');
  });

  it('mux-webhook: Mux always, the bucket when set (caption tracks)', () => {
    expect(muxWebhookConfigFromEnv({ ...mux }).storage).toBeUndefined();
    expect(muxWebhookConfigFromEnv({ ...mux, ...bucket }).storage?.config.prefix).toBe('uploads/');
    expect(variableOf(() => muxWebhookConfigFromEnv({ MUX_BASE_URL: 'ftp://x' }))).toBe('MUX_BASE_URL');
  });

  it('reconcile: the RECONCILE_* sweep settings, unset ones left to the service', () => {
    expect(reconcileConfigFromEnv({ ...mux }).sweeps).toEqual({});
    expect(
      reconcileConfigFromEnv({
        ...mux,
        RECONCILE_BATCH_SIZE: '250',
        RECONCILE_TIME_BUDGET_SECONDS: '120',
        RECONCILE_BACKFILL_AFTER_SECONDS: '60',
        RECONCILE_STRANDED_AFTER_SECONDS: '300',
        RECONCILE_STRANDED_MAX_AGE_SECONDS: '86400',
        RECONCILE_REFRESH_AFTER_SECONDS: '1800',
      }).sweeps,
    ).toEqual({ batchSize: 250, timeBudgetSeconds: 120, backfillAfterSeconds: 60, strandedAfterSeconds: 300, strandedMaxAgeSeconds: 86400, refreshAfterSeconds: 1800 });
    expect(variableOf(() => reconcileConfigFromEnv({ ...mux, RECONCILE_BATCH_SIZE: '1001' }))).toBe('RECONCILE_BATCH_SIZE');
    expect(variableOf(() => reconcileConfigFromEnv({ ...mux, RECONCILE_TIME_BUDGET_SECONDS: '0' }))).toBe('RECONCILE_TIME_BUDGET_SECONDS');
    expect(variableOf(() => reconcileConfigFromEnv({ ...mux, RECONCILE_REFRESH_AFTER_SECONDS: '1h' }))).toBe('RECONCILE_REFRESH_AFTER_SECONDS');
  });

  it('reconcile: adds MAX_INGEST_ATTEMPTS', () => {
    expect(reconcileConfigFromEnv({ ...mux }).maxIngestAttempts).toBeUndefined();
    expect(reconcileConfigFromEnv({ ...mux, MAX_INGEST_ATTEMPTS: '5' }).maxIngestAttempts).toBe(5);
    expect(variableOf(() => reconcileConfigFromEnv({ MAX_INGEST_ATTEMPTS: '0' }))).toBe('MAX_INGEST_ATTEMPTS');
  });

  it('admin: the health wait, the thresholds, and Mux settings or why they are malformed (never a failure)', () => {
    const config = adminConfigFromEnv({ ...cluster, HEALTH_DB_WAIT_MS: '0', STUCK_UPLOAD_HOURS: '1.5', REELAY_STAGE: 'dev', ...bucket });
    expect(config).toMatchObject({
      healthDbWaitMs: 0,
      diagnostics: { stuckUploadHours: 1.5, stuckIngestMinutes: 60, sampleLimit: 20 },
      stage: 'dev',
      storage: { bucket: 'reelay-uploads', prefix: null },
    });
    expect(adminConfigFromEnv({}).healthDbWaitMs).toBe(3_000);
    const badMux = adminConfigFromEnv({ MUX_PLAYBACK_POLICY: 'private' }).mux;
    expect(badMux).toBeInstanceOf(ConfigurationError);
    expect((badMux as ConfigurationError).variable).toBe('MUX_PLAYBACK_POLICY');
    expect(variableOf(() => adminConfigFromEnv({ DIAGNOSTICS_SAMPLE_LIMIT: '2.5' }))).toBe('DIAGNOSTICS_SAMPLE_LIMIT');
    expect(variableOf(() => adminConfigFromEnv({ HEALTH_DB_WAIT_MS: 'soon' }))).toBe('HEALTH_DB_WAIT_MS');
  });

  it('migrate: the driver and the role secrets', () => {
    expect(migrateConfigFromEnv({ ...cluster, DATABASE_ROLE_SECRET_ARNS: ' arn:a , arn:b ,', AWS_SESSION_TOKEN: 't' })).toMatchObject({
      driver: { kind: 'data-api' },
      roleSecrets: { arns: ['arn:a', 'arn:b'], sessionToken: 't', extensionPort: '2773' },
    });
    expect(migrateConfigFromEnv({}).roleSecrets.arns).toEqual([]);
  });

  it('video-deletes: the database, Mux, the bucket (required: it deletes objects) and DELETION_GRACE_SECONDS', () => {
    const config = videoDeletesConfigFromEnv({ ...cluster, ...bucket, ...mux, DELETION_GRACE_SECONDS: '5' });
    expect(config).toMatchObject({ adminGroup: 'admin', storage: { config: { bucket: 'reelay-uploads', prefix: 'uploads/' } }, deletion: { ingestGraceSeconds: 5 } });
    expect(videoDeletesConfigFromEnv({ ...cluster, ...bucket, ...mux }).deletion).toEqual({});
    expect(variableOf(() => videoDeletesConfigFromEnv({ ...cluster, ...mux }))).toBe('UPLOAD_BUCKET');
    expect(variableOf(() => videoDeletesConfigFromEnv({ ...cluster, ...bucket, ...mux, DELETION_GRACE_SECONDS: '-1' }))).toBe('DELETION_GRACE_SECONDS');
    expect(reconcileConfigFromEnv({ ...cluster, ...mux, DELETION_GRACE_SECONDS: '0' }).deletion).toEqual({ ingestGraceSeconds: 0 });
  });
});
