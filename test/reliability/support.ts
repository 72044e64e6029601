/**
 * What every reliability suite shares: a local stack configured as production is (SQS redrive after 5 receives),
 * a client that uploads the way a well-behaved browser does (it retries a 5xx, as the Retry-After header invites),
 * the end-state checks (one row and one Mux asset per video, the right status, nothing dead-lettered), and the
 * figures each scenario records for the reporter (test/reliability/reporter.ts → docs/RELIABILITY.md).
 */
import type { S3EventRecord, SQSEvent } from 'aws-lambda';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { expect, type TestContext } from 'vitest';
import { createDriver, driverConfigFromEnv } from '../../shared/db/create-driver.js';
import type { Driver } from '../../shared/db/driver.js';
import { muxSignatureHeader } from '../../local/mux-emulator/signing.js';
import { eventually, startTestStack, type ApiResponse, type TestStack, type TestStackOptions } from '../support/local-stack.js';
import {
  asBody,
  assetsFor,
  createUpload,
  getVideo,
  putPart,
  putSingle,
  uploadRequest,
  videoBytes,
  type CreatedUpload,
  type MultipartUpload,
  type SingleUpload,
  type UploadRequest,
  type VideoJson,
} from '../stack/support.js';

export { asBody, assetsFor, createUpload, getVideo, uploadRequest, videoBytes, type VideoJson };

/** The redrive limit the CDK app gives the ingest queue (infra/constructs/upload-bucket.ts). */
export const productionMaxReceiveCount = 5;

/** Counts recorded by one scenario: what was injected, what the system did about it, and what was lost. */
export interface ScenarioFigures {
  /** The fault family, e.g. "1. Data API faults". */
  readonly scenario: string;
  /** What this case did, in a few words. */
  readonly case: string;
  readonly injected: Readonly<Record<string, number>>;
  /** Retries, redeliveries and refusals seen in the logs, the emulator's records and the client. */
  readonly observed: Readonly<Record<string, number>>;
  /** Videos (or requests) the case checked. */
  readonly checked: number;
  /** Videos without their row, their asset or their final status: the suite fails unless this is 0. */
  readonly lost: number;
  /** Mux assets beyond one per video: the suite fails unless this is 0. */
  readonly extraAssets: number;
}

declare module 'vitest' {
  interface TaskMeta {
    reliability?: ScenarioFigures;
  }
}

/** Hands the figures to the reporter, which collects them from every test's meta once the run ends. */
export function recordFigures(context: TestContext, figures: ScenarioFigures): void {
  context.task.meta.reliability = figures;
}

/**
 * Production's timing ratios, scaled down: a claim whose holder died (or whose claiming UPDATE's answer was lost) is
 * taken over once stale, and the queue's redeliveries must outlast that (AWS: 5 receives × a 12 min visibility
 * timeout > the 15 min stale-claim window > the 2 min ingest timeout). Here: 5 × 2 s > 4 s > the Mux timeouts.
 * SQS runs in real time (the function is told the 2 s it lasts): Mux's Retry-After is in real seconds, and a queue
 * whose seconds ran faster would bring a throttled message back before the emulator's throttle ends.
 */
export const visibilityTimeoutSeconds = 2;
const staleClaimSeconds = 4;

/**
 * The queue's time here against AWS's (720 s → 2 s): a figure measured in this stack is this many times longer in
 * production. The scheduled reconcile keeps the same ratio to the visibility timeout (AWS: every 15 min).
 */
export const productionTimeFactor = 720 / visibilityTimeoutSeconds;
export const reconcilePeriodMs = (15 * 60 * 1000) / productionTimeFactor;
/**
 * The reconcile settings of a scheduled stack, scaled alike and rounded up to whole seconds: `uploaded` and
 * `awaiting_upload` videos are swept once 2 s old (AWS: 600 s → 1.7 s).
 */
const scheduledReconcileEnv = { RECONCILE_BACKFILL_AFTER_SECONDS: '2', RECONCILE_STRANDED_AFTER_SECONDS: '2' };

export interface ReliabilityStackOptions extends TestStackOptions {
  /** Reconcile runs every {@link reconcilePeriodMs}, with the scaled thresholds above (default: only when invoked). */
  readonly scheduledReconcile?: boolean;
}

export async function startReliabilityStack(options: ReliabilityStackOptions = {}): Promise<TestStack> {
  const { scheduledReconcile, ...stackOptions } = options;
  return startTestStack({
    ...stackOptions,
    ...(scheduledReconcile && { reconcileIntervalMs: reconcilePeriodMs }),
    sqs: { maxReceiveCount: productionMaxReceiveCount, visibilityTimeoutMs: visibilityTimeoutSeconds * 1000, visibilityTimeoutSeconds, ...options.sqs },
    lambdaEnv: { LOG_LEVEL: 'info', INGEST_STALE_CLAIM_SECONDS: String(staleClaimSeconds), ...(scheduledReconcile && scheduledReconcileEnv), ...options.lambdaEnv },
  });
}

/** Counts of the given log events, from `since` (an index into stack.logs) on. */
export function logCounts(stack: TestStack, since: number, events: readonly string[]): Record<string, number> {
  const counts = Object.fromEntries(events.map((event) => [event, 0]));
  for (const line of stack.logs.slice(since)) {
    const event = String(line.event);
    if (event in counts) counts[event] = (counts[event] ?? 0) + 1;
  }
  return counts;
}

/** A driver of the stack's own database, through its Data API endpoint (clear injected faults before using it). */
export async function stackDatabase(stack: TestStack): Promise<Driver> {
  return createDriver(driverConfigFromEnv(stack.env));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a client saw while uploading one video. */
export interface ClientUpload {
  readonly id: string;
  readonly title: string;
  /** 5xx answers the client retried (each was a 503 with Retry-After, or the request would not be retried). */
  readonly retriedAnswers: number;
}

const clientAttempts = 8;

/**
 * Sends a request again while the answer is a 5xx, as a client following Retry-After does (the waits are capped:
 * the faults under test last a moment). Every 5xx must be a 503 with Retry-After: anything else is a bug.
 */
async function withClientRetries<T>(send: () => Promise<ApiResponse<T>>, onRetry: () => void): Promise<ApiResponse<T>> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await send();
    if (response.status < 500 || attempt === clientAttempts) return response;
    expect(response.status, `a server error other than "unavailable": ${response.text}`).toBe(503);
    expect(response.headers.get('retry-after'), 'a 503 says when to come back').toBeTruthy();
    onRetry();
    await sleep(Math.min(1_000, Number(response.headers.get('retry-after')) * 100));
  }
}

async function putWithRetries(send: () => Promise<Response>, onRetry: () => void): Promise<Response> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await send();
    if (response.status < 500 || attempt === clientAttempts) return response;
    onRetry();
    await sleep(100);
  }
}

export interface UploadOptions {
  readonly bytes: Buffer;
  readonly options?: UploadRequest['options'];
  /** Runs between the create and the upload (e.g. a DELETE the upload then lands after). */
  readonly beforeUpload?: (videoId: string) => Promise<void>;
}

/**
 * Creates a video and uploads its file (a single PUT, or every part then complete), retrying what a browser would.
 * Resolves once S3 has the object; the rest (ingest, webhooks) happens behind the stack's back.
 */
export async function uploadVideo(stack: TestStack, token: string, title: string, upload: UploadOptions): Promise<ClientUpload> {
  let retriedAnswers = 0;
  const counted = () => {
    retriedAnswers += 1;
  };
  const created = await withClientRetries(
    () => stack.request<CreatedUpload>('POST', '/api/videos/upload', { token, json: uploadRequest(upload.bytes, { title, ...(upload.options && { options: upload.options }) }) }),
    counted,
  );
  expect(created.status, created.text).toBe(201);
  const { video, upload: instructions } = created.body;
  await upload.beforeUpload?.(video.id);
  if (instructions.mode === 'single') {
    const put = await putWithRetries(() => putSingle(instructions as SingleUpload, upload.bytes), counted);
    expect(put.status, await put.text()).toBe(200);
  } else {
    await completeMultipart(stack, token, video.id, instructions, upload.bytes, counted);
  }
  return { id: video.id, title, retriedAnswers };
}

async function completeMultipart(stack: TestStack, token: string, id: string, upload: MultipartUpload, bytes: Buffer, onRetry: () => void): Promise<void> {
  expect(upload.parts.length, 'the create response signs every part of a small multipart upload').toBe(upload.partCount);
  const parts = await Promise.all(
    upload.parts.map(async (part) => ({
      partNumber: part.partNumber,
      etag: await putPart(part, bytes.subarray((part.partNumber - 1) * upload.partSize, part.partNumber * upload.partSize)),
    })),
  );
  const completed = await withClientRetries(() => stack.request('POST', `/api/videos/${id}/upload/complete`, { token, json: { parts } }), onRetry);
  if (completed.status === 200) return;
  // A retried complete whose first try did complete finds the upload gone: the video has moved on, which is success.
  const video = (await getVideo(stack, token, id)).body.video;
  expect(video.status, `complete answered ${completed.status} ${completed.text}`).not.toBe('awaiting_upload');
}

export type FinalStatus = 'ready' | 'errored';

/** Polls until the video has left the in-between states and returns it. */
export async function finalVideo(stack: TestStack, token: string, id: string, timeoutMs = 120_000): Promise<VideoJson> {
  let last: VideoJson | undefined;
  return eventually(
    async () => {
      const response = await getVideo(stack, token, id);
      if (response.status !== 200) return undefined;
      last = response.body.video;
      const settled = last.status === 'errored' || (last.status === 'ready' && last.mux?.status === 'ready' && last.mux.playbackId !== null);
      return settled ? last : undefined;
    },
    () => `video ${id} is still ${JSON.stringify(last?.status)} (mux ${JSON.stringify(last?.mux?.status)})`,
    timeoutMs,
    100,
  );
}

export interface EndState {
  readonly checked: number;
  readonly lost: number;
  readonly extraAssets: number;
  /** Rows beyond one per title: a create whose answer was lost (the client retried it) left an unused row. */
  readonly unusedRows: number;
}

/**
 * The end state every scenario must reach: each upload has exactly one row (by its unique title, apart from rows a
 * client never learned of), exactly one live Mux asset that reelay tagged for it, and the expected final status;
 * nothing is left in the dead-letter queue. The stack must be idle and free of injected faults.
 */
export async function expectEndState(
  stack: TestStack,
  token: string,
  uploads: readonly ClientUpload[],
  expected: FinalStatus,
  options: { readonly unusedRowsAllowed?: boolean; /** 0 when Mux refused the create itself. */ readonly assetsPerVideo?: 0 | 1 } = {},
): Promise<EndState> {
  const assetsPerVideo = options.assetsPerVideo ?? 1;
  stack.dataApi.faults.clear();
  await stack.idle();
  let lost = 0;
  let extraAssets = 0;
  const finals = await Promise.all(uploads.map((upload) => finalVideo(stack, token, upload.id)));
  for (const [index, video] of finals.entries()) {
    const assets = assetsFor(stack, video.id).filter((asset) => !asset.deleted);
    if (video.status !== expected || assets.length < assetsPerVideo || (expected === 'ready' && video.mux?.assetId !== assets[0]?.id)) lost += 1;
    extraAssets += Math.max(0, assets.length - assetsPerVideo);
    expect.soft(video.status, `${uploads[index]?.title}: ${JSON.stringify(video)}`).toBe(expected);
    expect.soft(assets.map((asset) => asset.id), `${uploads[index]?.title}: Mux assets`).toHaveLength(assetsPerVideo);
  }
  const rowsByTitle = await countRowsByTitle(stack, uploads.map((upload) => upload.title));
  let unusedRows = 0;
  for (const upload of uploads) {
    const rows = rowsByTitle.get(upload.title) ?? 0;
    if (rows === 0) lost += 1;
    unusedRows += Math.max(0, rows - 1);
  }
  if (!options.unusedRowsAllowed) expect(unusedRows, 'one row per upload').toBe(0);
  expect(stack.sqs.deadLetters, 'nothing dead-lettered').toEqual([]);
  expect(lost, 'videos lost').toBe(0);
  expect(extraAssets, 'second Mux assets').toBe(0);
  return { checked: uploads.length, lost, extraAssets, unusedRows };
}

/** What became of the videos a scenario deleted. */
export interface DeletedState {
  readonly checked: number;
  /** Visible again (GET 200), or a row left in the table. */
  readonly resurrected: number;
  /** Live Mux assets tagged for a deleted video. */
  readonly orphanAssets: number;
  /** Objects left in a deleted video's S3 folder. */
  readonly orphanObjects: number;
}

/**
 * The end state of deleted videos: GET is a 404, no row is left, no live Mux asset is tagged for them, their S3
 * folder is empty. A deletion that answered 202 is given until the stack is idle, then one reconcile run.
 */
export async function expectDeleted(stack: TestStack, token: string, ids: readonly string[]): Promise<DeletedState> {
  stack.dataApi.faults.clear();
  await stack.idle();
  const stillThere = async () => (await Promise.all(ids.map(async (id) => ((await getVideo(stack, token, id)).status === 404 ? null : id)))).filter((id) => id !== null);
  if ((await stillThere()).length > 0) {
    await sleep(1_100); // the deletion grace of the reliability stack
    await stack.invoke.reconcile({ action: 'reconcile' });
    await stack.idle();
  }
  const visible = await stillThere();
  const driver = await stackDatabase(stack);
  let rows: number;
  try {
    const { rows: found } = await driver.execute<{ n: number }>('SELECT CAST(count(*) AS int) AS n FROM videos WHERE id = ANY(CAST(:ids AS uuid[]))', { ids: `{${ids.join(',')}}` });
    rows = found[0]?.n ?? 0;
  } finally {
    await driver.close();
  }
  let orphanAssets = 0;
  let orphanObjects = 0;
  for (const id of ids) {
    orphanAssets += assetsFor(stack, id).filter((asset) => !asset.deleted).length;
    const listed = await stack.s3.client.send(new ListObjectsV2Command({ Bucket: stack.s3.bucket, Prefix: `${stack.env.UPLOAD_PREFIX ?? ''}${id}/` }));
    orphanObjects += listed.KeyCount ?? 0;
  }
  const resurrected = Math.max(visible.length, rows);
  expect(visible, 'deleted videos visible again').toEqual([]);
  expect(rows, 'rows left of deleted videos').toBe(0);
  expect(orphanAssets, 'live Mux assets of deleted videos').toBe(0);
  expect(orphanObjects, 'objects left of deleted videos').toBe(0);
  return { checked: ids.length, resurrected, orphanAssets, orphanObjects };
}

async function countRowsByTitle(stack: TestStack, titles: readonly string[]): Promise<Map<string, number>> {
  const driver = await stackDatabase(stack);
  try {
    const counts = new Map<string, number>();
    const wanted = new Set(titles);
    const { rows } = await driver.execute<{ title: string; n: number }>('SELECT title, CAST(count(*) AS int) AS n FROM videos GROUP BY title');
    for (const row of rows) if (wanted.has(row.title)) counts.set(row.title, row.n);
    return counts;
  } finally {
    await driver.close();
  }
}

/** Runs `work` over `items` with at most `limit` running at once; results in input order. */
export async function mapWithLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index] as T, index);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A signed webhook POST, as Mux sends it; `secondsAgo` ages the signature. */
export function postSignedWebhook(stack: TestStack, body: string, secondsAgo = 0): Promise<ApiResponse> {
  const signature = muxSignatureHeader(body, stack.env.MUX_WEBHOOK_SECRET as string, Math.floor(Date.now() / 1000) - secondsAgo);
  return stack.request('POST', '/api/webhooks/mux', { body, headers: { 'mux-signature': signature } });
}

/** The SQS event the ingest queue would hand the function for `record`. */
export function sqsEventFor(record: S3EventRecord, messageId: string, receiveCount: number): SQSEvent {
  const now = String(Date.now());
  return {
    Records: [{
      messageId,
      receiptHandle: `${messageId}-${receiveCount}`,
      body: JSON.stringify({ Records: [record] }),
      attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: now, SenderId: 'S3', ApproximateFirstReceiveTimestamp: now },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:reelay-local-ingest',
      awsRegion: 'us-east-1',
    }],
  };
}

/** Small MP4-looking files the emulator accepts; a unique title per upload lets rows be counted by title. */
export const smallVideo = videoBytes(8 * 1024);

export function titles(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}-${String(index).padStart(4, '0')}`);
}
