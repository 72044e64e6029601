/**
 * The Mux side of the pipeline on loopback for the ingest, webhook and reconcile suites: a test database (PGlite or
 * PostgreSQL), the local S3, the Mux emulator, and the three functions built with `createHandler(env)` exactly as
 * AWS builds them (only the env differs). Emulator webhooks are relayed through a real HTTP server into the
 * webhook handler as API Gateway payload-2.0 events.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3EventRecord, SQSEvent } from 'aws-lambda';
import { buildHttpEvent, lambdaContext } from '../../local/api-gateway/event.js';
import { startMuxEmulator, type MuxEmulator } from '../../local/mux-emulator/server.js';
import { muxSignatureHeader } from '../../local/mux-emulator/signing.js';
import { sqlValue } from '../../shared/db/driver.js';
import { VideoDB } from '../../shared/db/video-db.js';
import type { VideoRecord } from '../../shared/db/video-fields.js';
import type { HttpHandler } from '../../shared/http/index.js';
import { memoryLogger, silentLogger, type Logger } from '../../shared/log.js';
import { createMigrator } from '../../shared/migrations/engine.js';
import { latestVersion } from '../../shared/migrations/index.js';
import type { Env } from '../../shared/config/reader.js';
import { encodeS3EventKey } from '../../shared/storage/events.js';
import { createHandler as createIngestHandler, type IngestHandler } from '../../functions/ingest/handler.js';
import { createHandler as createWebhookHandler } from '../../functions/mux-webhook/handler.js';
import { createHandler as createReconcileHandler } from '../../functions/reconcile/handler.js';
import type { EventPublisher } from '../../shared/events/publisher.js';
import { assetBinder } from '../../shared/mux/binding.js';
import { muxFromEnv } from '../../shared/runtime/mux.js';
import { storageFromEnv } from '../../shared/runtime/storage.js';
import { startFileServer, type LocalServer } from '../mux/support/servers.js';
import { openTestDatabase, type BackendName, type TestDatabase } from '../support/databases.js';
import { startTestS3, type TestS3 } from '../storage/local-s3.js';

export const webhookSecret = 'whsec-test-secret';
/** The asset binding key the functions tag passthroughs with (tests forge with others). */
export const bindingKey = 'binding-key-for-tests-0123456789abcdef';
const tokenId = 'test-token-id';
const tokenSecret = 'test-token-secret';

export interface Pipeline {
  readonly db: TestDatabase;
  readonly s3: TestS3;
  readonly mux: MuxEmulator;
  readonly env: Env;
  readonly videos: VideoDB;
  readonly logger: ReturnType<typeof memoryLogger>;
  readonly ingest: IngestHandler;
  readonly webhook: HttpHandler;
  readonly reconcile: (event: unknown) => Promise<unknown>;
  /** Sends the emulator's webhooks to the webhook handler (off until called). */
  relayWebhooks(): Promise<void>;
  /** Posts a body to the webhook handler, signed now unless `signature` is given. */
  postWebhook(body: string, signature?: string | null): Promise<{ status: number; body: unknown }>;
  /** Creates a video row and puts its source object; returns the row and the S3 record S3 would notify. */
  upload(options?: UploadOptions): Promise<{ video: VideoRecord; record: S3EventRecord }>;
  /**
   * Creates an asset in the emulator as reelay's ingest would for attempt `attempt` (tagged passthrough, presigned
   * GET of the video's object), without storing it: what a handler killed after the create leaves behind.
   */
  createReelayAsset(video: VideoRecord, attempt: number): Promise<{ assetId: string }>;
  /**
   * Creates an asset as another user of the same Mux environment could: any passthrough (by default the bare video
   * id), from their own file (or `inputUrl`).
   */
  createForeignAsset(passthrough: string, options?: { inputUrl?: string }): Promise<{ assetId: string }>;
  /** Rebuilds the handlers (a new container), e.g. after a migration. */
  rebuild(): Promise<void>;
  migrate(to?: number): Promise<void>;
  close(): Promise<void>;
}

export interface UploadOptions {
  readonly options?: { captions?: boolean; normalizeAudio?: boolean; mp4?: boolean };
  /** Write the options only as S3 metadata (what a legacy schema can keep). */
  readonly optionsInMetadataOnly?: boolean;
  readonly bytes?: Buffer;
  readonly status?: 'awaiting_upload' | 'uploaded';
}

/** A small file that looks like an MP4 (`ftyp` box). */
export const sampleVideo = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom'), Buffer.alloc(4096, 7)]);

let messages = 0;

/** An SQS event carrying `records`, one message each, with the given ApproximateReceiveCount. */
export function sqsEvent(records: ReadonlyArray<{ record: S3EventRecord; messageId?: string }>, receiveCount = 1): SQSEvent {
  return {
    Records: records.map(({ record, messageId }) => {
      messages += 1;
      return {
        messageId: messageId ?? `message-${messages}`,
        receiptHandle: `handle-${messages}`,
        body: JSON.stringify({ Records: [record] }),
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: String(Date.now()),
          SenderId: 'AROATEST',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:reelay-test-ingest',
        awsRegion: 'us-east-1',
      };
    }),
  };
}

/** The record S3 puts in the notification for an object. */
export function s3Record(bucket: string, key: string, size: number): S3EventRecord {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: new Date().toISOString(),
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: 'test' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'req', 'x-amz-id-2': 'id2' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'ingest',
      bucket: { name: bucket, ownerIdentity: { principalId: 'test' }, arn: `arn:aws:s3:::${bucket}` },
      object: { key: encodeS3EventKey(key), size, eTag: 'etag', sequencer: '0055AED6DCD90281E5' },
    },
  };
}

export async function startPipeline(backend: BackendName, options: { schema?: number; extraEnv?: Env; eventPublisher?: EventPublisher } = {}): Promise<Pipeline> {
  const db = await openTestDatabase(backend, { migratedTo: options.schema ?? latestVersion });
  const migrator = createMigrator({ driver: db.driver, logger: silentLogger });
  const s3 = await startTestS3();
  const mux = await startMuxEmulator({ webhookSecret, tokenId, tokenSecret, processingDelayMs: 5, webhookRetryDelaysMs: [20, 50, 100] });
  const env: Env = {
    UPLOAD_BUCKET: s3.bucket,
    UPLOAD_PREFIX: 'uploads/',
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
    MUX_TOKEN_ID: tokenId,
    MUX_TOKEN_SECRET: tokenSecret,
    MUX_WEBHOOK_SECRET: webhookSecret,
    MUX_BINDING_KEY: bindingKey,
    MUX_BASE_URL: mux.baseUrl,
    MUX_TIMEOUT_MS: '1500',
    // Short, so a test can let a claim go stale.
    INGEST_STALE_CLAIM_SECONDS: '60',
    ...options.extraEnv,
  };
  const logger = memoryLogger('warn');
  const handlers: { ingest?: IngestHandler; webhook?: HttpHandler; reconcile?: (event: unknown) => Promise<unknown> } = {};
  const build = async (): Promise<void> => {
    const seams = { driver: db.driver, logger: logger as Logger, ...(options.eventPublisher && { eventPublisher: options.eventPublisher }) };
    handlers.ingest = await createIngestHandler(env, seams);
    handlers.webhook = await createWebhookHandler(env, seams);
    handlers.reconcile = await createReconcileHandler(env, seams);
  };
  await build();

  const postWebhook = async (body: string, signature?: string | null) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const header = signature === undefined ? muxSignatureHeader(body, webhookSecret) : signature;
    if (header !== null) headers['mux-signature'] = header;
    const result = await (handlers.webhook as HttpHandler)(buildHttpEvent({ routeKey: 'POST /api/webhooks/mux', headers, body }), lambdaContext('mux-webhook'));
    return { status: result.statusCode ?? 200, body: result.body ? (JSON.parse(result.body) as unknown) : undefined };
  };

  const relay = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      postWebhook(body, String(req.headers['mux-signature'] ?? '')).then(
        (result) => res.writeHead(result.status).end(),
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}/api/webhooks/mux`;

  const videos = new VideoDB({ executor: db.driver });
  // Another Mux user's own content, served from their own host.
  const foreignFiles: LocalServer = await startFileServer(sampleVideo);
  const gateway = () => muxFromEnv(env).gateway();
  return {
    db,
    s3,
    mux,
    env,
    videos,
    logger,
    get ingest() {
      return handlers.ingest as IngestHandler;
    },
    get webhook() {
      return handlers.webhook as HttpHandler;
    },
    get reconcile() {
      return handlers.reconcile as (event: unknown) => Promise<unknown>;
    },
    async relayWebhooks() {
      mux.setWebhookUrl(relayUrl);
    },
    postWebhook,
    async upload(upload = {}) {
      const id = randomUUID();
      const key = `uploads/${id}/source.mp4`;
      const bytes = upload.bytes ?? sampleVideo;
      const requested = { captions: false, normalizeAudio: false, mp4: false, ...upload.options };
      const { video } = await videos.createWithFallback({
        id,
        ownerId: 'alice',
        title: 'clip',
        originalFilename: 'clip.mp4',
        contentType: 'video/mp4',
        sizeBytes: bytes.length,
        s3Key: key,
        status: upload.status ?? 'awaiting_upload',
        ...(upload.optionsInMetadataOnly ? {} : { mux: { status: 'pending', options: requested } }),
      });
      await s3.client.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes, ContentType: 'video/mp4', Metadata: { 'reelay-options': JSON.stringify(requested) } }),
      );
      return { video, record: s3Record(s3.bucket, key, bytes.length) };
    },
    async createReelayAsset(video, attempt) {
      const input = await storageFromEnv(env).storage.presignGet({ key: video.s3Key, ttlSeconds: 3600 });
      const created = await (await gateway()).createAsset({ inputUrl: input.url, passthrough: assetBinder(bindingKey).passthrough(video.id, attempt) });
      return { assetId: created.assetId };
    },
    async createForeignAsset(passthrough, options = {}) {
      const created = await (await gateway()).createAsset({ inputUrl: options.inputUrl ?? `${foreignFiles.url}/video.mp4`, passthrough });
      return { assetId: created.assetId };
    },
    rebuild: build,
    async migrate(to?: number) {
      await migrator.up(to === undefined ? {} : { to });
    },
    async close() {
      mux.setWebhookUrl(null);
      await mux.close();
      await new Promise<void>((resolve) => {
        relay.closeAllConnections();
        relay.close(() => resolve());
      });
      await foreignFiles.close();
      await s3.dispose();
      await db.dispose();
    },
  };
}

/** The emulator's assets reelay tagged for `videoId` (`{videoId}.{attempt}.{tag}`, shared/mux/binding.ts). */
export function assetsFor(pipeline: Pipeline, videoId: string) {
  return [...pipeline.mux.assets.values()].filter((asset) => asset.json.passthrough?.startsWith(`${videoId}.`));
}

/** Makes a row look last touched `minutes` ago (as if it had waited that long). */
export async function age(pipeline: Pipeline, videoId: string, minutes: number): Promise<void> {
  await pipeline.db.driver.execute(
    `UPDATE videos SET updated_at = (now() AT TIME ZONE 'UTC') - make_interval(mins => CAST(:minutes AS integer)) WHERE id = :id`,
    { minutes, id: sqlValue.uuid(videoId) },
  );
}

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A Mux event envelope as Mux sends it. */
export function muxEvent(type: string, data: unknown, options: { id?: string; objectId?: string; objectType?: string; createdAt?: Date } = {}): string {
  return JSON.stringify({
    type,
    object: { type: options.objectType ?? 'asset', id: options.objectId ?? (data as { id?: string }).id ?? null },
    id: options.id ?? randomUUID(),
    environment: { name: 'Test', id: 'test' },
    data,
    created_at: (options.createdAt ?? new Date()).toISOString(),
    attempts: [],
  });
}
