/**
 * Load: 500 upload creations and completions against the local stack — single PUTs and multipart uploads
 * completed through the API — each getting exactly one row and one Mux asset and reaching `ready`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB } from '../../shared/storage/config.js';
import type { TestStack } from '../support/local-stack.js';
import { expectEndState, logCounts, mapWithLimit, recordFigures, startReliabilityStack, titles, uploadVideo, videoBytes } from './support.js';

const uploadsInRun = 500;
/** All 500 at once: every creation, PUT and completion is in flight together. */
const clientConcurrency = uploadsInRun;
/** The smallest threshold reelay accepts (S3's minimum part size); a few uploads go over it. */
const multipartThresholdBytes = 5 * MiB;
const multipartEvery = 50;
const singleFile = videoBytes(8 * 1024);
/** Above the threshold: a one-part multipart upload, completed through POST …/upload/complete. */
const multipartFile = videoBytes(multipartThresholdBytes + 1024);

describe('500 uploads at once', () => {
  let stack: TestStack;
  let owners: string[];

  beforeAll(async () => {
    stack = await startReliabilityStack({ lambdaEnv: { MULTIPART_THRESHOLD_BYTES: String(multipartThresholdBytes) } });
    owners = await Promise.all(Array.from({ length: 5 }, () => stack.tokens.mint(`owner-${randomUUID()}`)));
  });
  afterAll(() => stack?.dispose());

  it('every upload gets one row, one Mux asset, and reaches ready', async (context) => {
    const logMark = stack.logs.length;
    const byOwner = new Map<string, Awaited<ReturnType<typeof uploadVideo>>[]>();
    const uploads = await mapWithLimit(titles('load', uploadsInRun), clientConcurrency, async (title, index) => {
      const owner = owners[index % owners.length] as string;
      const upload = await uploadVideo(stack, owner, title, { bytes: index % multipartEvery === 0 ? multipartFile : singleFile });
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), upload]);
      return upload;
    });
    expect(new Set(uploads.map((upload) => upload.id)).size).toBe(uploadsInRun);
    const ends = [];
    for (const [owner, owned] of byOwner) ends.push(await expectEndState(stack, owner, owned, 'ready'));
    const seen = logCounts(stack, logMark, ['upload.created', 'upload.completed', 'ingest.asset_created', 'mux_webhook.applied', 'mux_webhook.duplicate', 'dataapi.retry', 'local_sqs.redelivery_scheduled']);
    expect(seen['ingest.asset_created']).toBe(uploadsInRun);
    recordFigures(context, {
      scenario: '6. Load',
      case: `${uploadsInRun} uploads (1 in ${multipartEvery} multipart), ${clientConcurrency} in flight, ${owners.length} owners`,
      injected: { 'uploads created': seen['upload.created'] ?? 0, 'multipart uploads completed': seen['upload.completed'] ?? 0 },
      observed: {
        'Mux assets created': seen['ingest.asset_created'] ?? 0,
        'webhooks applied': seen['mux_webhook.applied'] ?? 0,
        'client retries of a 503': uploads.reduce((total, upload) => total + upload.retriedAnswers, 0),
        'driver retries': seen['dataapi.retry'] ?? 0,
        'SQS redeliveries': seen['local_sqs.redelivery_scheduled'] ?? 0,
      },
      checked: ends.reduce((total, end) => total + end.checked, 0),
      lost: ends.reduce((total, end) => total + end.lost, 0),
      extraAssets: ends.reduce((total, end) => total + end.extraAssets, 0),
    });
  });
});
