/**
 * Load: 500 upload creations and completions against the local stack — single PUTs and multipart uploads
 * completed through the API — each getting exactly one row and one Mux asset and reaching `ready`; one in ten is
 * deleted on its way (before its upload lands, right after it while ingest runs, or once ready), and nothing of
 * those may come back or stay behind. Every ready video's `Video Ready` and every deleted one's `Video Deleted`
 * reaches the local EventBridge; duplicate deliveries are reported.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB } from '../../shared/storage/config.js';
import { eventually, type TestStack } from '../support/local-stack.js';
import {
  expectDeleted,
  expectEndState,
  finalVideo,
  getVideo,
  logCounts,
  mapWithLimit,
  recordFigures,
  startReliabilityStack,
  titles,
  uploadVideo,
  videoBytes,
  type ClientUpload,
} from './support.js';

const uploadsInRun = 500;
/** All 500 at once: every creation, PUT and completion is in flight together. */
const clientConcurrency = uploadsInRun;
/** The smallest threshold reelay accepts (S3's minimum part size); a few uploads go over it. */
const multipartThresholdBytes = 5 * MiB;
const multipartEvery = 50;
const singleFile = videoBytes(8 * 1024);
/** Above the threshold: a one-part multipart upload, completed through POST …/upload/complete. */
const multipartFile = videoBytes(multipartThresholdBytes + 1024);

const createDelayMs = 150;

/** When a deleted video is deleted: before its PUT lands, as soon as ingest has claimed it, or once ready. */
type DeleteMoment = 'before-upload' | 'during-ingest' | 'once-ready';
/** Every tenth upload is deleted, the three moments in turn (none of them a multipart one: 50k is never 5 mod 10). */
function deleteMomentOf(index: number): DeleteMoment | undefined {
  if (index % 10 !== 5) return undefined;
  return (['before-upload', 'during-ingest', 'once-ready'] as const)[Math.floor(index / 10) % 3];
}

describe('500 uploads at once', () => {
  let stack: TestStack;
  let owners: string[];

  beforeAll(async () => {
    stack = await startReliabilityStack({ lambdaEnv: { MULTIPART_THRESHOLD_BYTES: String(multipartThresholdBytes), DELETION_GRACE_SECONDS: '1' } });
    owners = await Promise.all(Array.from({ length: 5 }, () => stack.tokens.mint(`owner-${randomUUID()}`)));
  });
  afterAll(() => stack?.dispose());

  it('every upload gets one row, one Mux asset, and reaches ready; every deleted one is gone for good', async (context) => {
    const logMark = stack.logs.length;
    const byOwner = new Map<string, ClientUpload[]>();
    const deletedByOwner = new Map<string, string[]>();
    const answers: Record<DeleteMoment, Record<string, number>> = { 'before-upload': {}, 'during-ingest': {}, 'once-ready': {} };
    const deleteVideo = async (owner: string, id: string, moment: DeleteMoment) => {
      const response = await stack.request('DELETE', `/api/videos/${id}`, { token: owner });
      expect([202, 204], response.text).toContain(response.status);
      answers[moment][response.status] = (answers[moment][response.status] ?? 0) + 1;
      deletedByOwner.set(owner, [...(deletedByOwner.get(owner) ?? []), id]);
    };
    // Each create answers after a moment, as Mux's do, so a delete during ingest can meet an ingest mid-create.
    stack.muxEmulator.faults.delayNextCreates(uploadsInRun, createDelayMs);
    const uploads = await mapWithLimit(titles('load', uploadsInRun), clientConcurrency, async (title, index) => {
      const owner = owners[index % owners.length] as string;
      const moment = deleteMomentOf(index);
      const upload = await uploadVideo(stack, owner, title, {
        bytes: index % multipartEvery === 0 ? multipartFile : singleFile,
        ...(moment === 'before-upload' ? { beforeUpload: (id: string) => deleteVideo(owner, id, moment) } : {}),
      });
      if (moment === 'during-ingest') {
        await eventually(async () => {
          const status = (await getVideo(stack, owner, upload.id)).body.video?.status;
          return status === 'awaiting_upload' || status === 'uploaded' ? undefined : true;
        }, () => `video ${upload.id} never reached ingest`, 120_000, 10);
        await deleteVideo(owner, upload.id, moment);
      }
      if (moment === 'once-ready') {
        await finalVideo(stack, owner, upload.id);
        await deleteVideo(owner, upload.id, moment);
      }
      if (moment === undefined) byOwner.set(owner, [...(byOwner.get(owner) ?? []), upload]);
      return upload;
    });
    expect(new Set(uploads.map((upload) => upload.id)).size).toBe(uploadsInRun);
    const ends = [];
    for (const [owner, owned] of byOwner) ends.push(await expectEndState(stack, owner, owned, 'ready'));
    const gone = [];
    for (const [owner, ids] of deletedByOwner) gone.push(await expectDeleted(stack, owner, ids));
    const deletedCount = gone.reduce((total, state) => total + state.checked, 0);
    expect(deletedCount).toBe(uploadsInRun / 10);
    // Lifecycle events (issue J): every ready video's `Video Ready` and every deleted one's `Video Deleted` arrived
    // at the local EventBridge; duplicates (at least once) are counted, never missing ones.
    const events = stack.eventBridge.events({ source: 'reelay' });
    const typesByVideo = new Map<string, Set<string>>();
    for (const event of events) {
      const videoId = String(event.detail.videoId);
      typesByVideo.set(videoId, (typesByVideo.get(videoId) ?? new Set()).add(event['detail-type']));
    }
    const readyIds = [...byOwner.values()].flat().map((upload) => upload.id);
    const deletedIds = [...deletedByOwner.values()].flat();
    const missingReady = readyIds.filter((id) => !typesByVideo.get(id)?.has('Video Ready'));
    const missingDeleted = deletedIds.filter((id) => !typesByVideo.get(id)?.has('Video Deleted'));
    const duplicateEvents = events.length - new Set(events.map((event) => String(event.detail.eventId))).size;
    expect(missingReady, 'videos whose Video Ready never arrived').toEqual([]);
    expect(missingDeleted, 'deleted videos whose Video Deleted never arrived').toEqual([]);
    const seen = logCounts(stack, logMark, [
      'upload.created',
      'upload.completed',
      'ingest.asset_created',
      'mux_webhook.applied',
      'mux_webhook.duplicate',
      'dataapi.retry',
      'local_sqs.redelivery_scheduled',
      'video.deleted',
      'ingest.upload_of_deleted_video_removed',
      'ingest.asset_of_deleted_video_removed',
    ]);
    // Deleted before the upload landed: never ingested; the others made their one asset (then deleted).
    const deletedBeforeUpload = Object.values(answers['before-upload']).reduce((total, count) => total + count, 0);
    expect(seen['ingest.asset_created']).toBeLessThanOrEqual(uploadsInRun - deletedBeforeUpload);
    expect(seen['ingest.asset_created']).toBeGreaterThanOrEqual(uploadsInRun - deletedCount);
    recordFigures(context, {
      scenario: '6. Load',
      case: `${uploadsInRun} uploads (1 in ${multipartEvery} multipart), ${clientConcurrency} in flight, ${owners.length} owners; 1 in 10 deleted (before its upload lands, during ingest, once ready)`,
      injected: {
        'uploads created': seen['upload.created'] ?? 0,
        'multipart uploads completed': seen['upload.completed'] ?? 0,
        ...Object.fromEntries(Object.entries(answers).flatMap(([moment, byStatus]) => Object.entries(byStatus).map(([status, count]) => [`deleted ${moment} (${status})`, count]))),
      },
      observed: {
        'Mux assets created': seen['ingest.asset_created'] ?? 0,
        'deletions finished': seen['video.deleted'] ?? 0,
        'late uploads removed by ingest': seen['ingest.upload_of_deleted_video_removed'] ?? 0,
        'assets of deleted videos removed by ingest': seen['ingest.asset_of_deleted_video_removed'] ?? 0,
        'deleted videos resurrected': gone.reduce((total, state) => total + state.resurrected, 0),
        'orphan assets': gone.reduce((total, state) => total + state.orphanAssets, 0),
        'orphan objects': gone.reduce((total, state) => total + state.orphanObjects, 0),
        'webhooks applied': seen['mux_webhook.applied'] ?? 0,
        'client retries of a 503': uploads.reduce((total, upload) => total + upload.retriedAnswers, 0),
        'driver retries': seen['dataapi.retry'] ?? 0,
        'SQS redeliveries': seen['local_sqs.redelivery_scheduled'] ?? 0,
        'events received': events.length,
        'Video Ready events missing': missingReady.length,
        'Video Deleted events missing': missingDeleted.length,
        'duplicate event deliveries (same eventId)': duplicateEvents,
      },
      checked: ends.reduce((total, end) => total + end.checked, 0) + deletedCount,
      lost: ends.reduce((total, end) => total + end.lost, 0),
      extraAssets: ends.reduce((total, end) => total + end.extraAssets, 0),
    });
  });
});
