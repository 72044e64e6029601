/**
 * Drains the ingest dead-letter queue, so its alarm clears by itself once the videos are handled (issue N). Meant to
 * run as a step of reconcile, after its sweeps, only when the DLQ holds messages (a receive that finds none touches
 * no database: K's rule).
 *
 * Each dead-lettered S3 notification is judged by the video its key names, read now:
 * - past ingest (`processing` with an asset, `ready`, `errored`): nothing is left to do, the message is deleted;
 * - ingest still has work (`awaiting_upload`, `uploaded`, `processing` without an asset, `cancelled` or `deleting`
 *   whose upload must be sealed or removed, or no row: a late upload of a deleted video, removed by ingest): the body
 *   is sent again to the ingest queue (SendMessage, counted in the `reelay-redrives` attribute) and the dead letter
 *   deleted, so it gets a fresh redrive budget;
 * - a message redriven `maxRedrives` times already (default 3) stays in the DLQ for an operator: it keeps failing
 *   for a reason another delivery does not mend, and its alarm must stay;
 * - a body that is not an S3 notification, or holds no source object (a test event, a key of no video): deleted,
 *   since ingest can do nothing with it either.
 * A database error stops the drain (the message it was judging stays, and is judged on the next run).
 */
import type { VideoDB } from '../db/video-db.js';
import type { VideoRecord } from '../db/video-fields.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { parseS3NotificationBody } from '../storage/events.js';
import type { UploadStorage } from '../storage/uploads.js';

export interface DeadLetterMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** The `reelay-redrives` message attribute: how often the drain sent this body back already (0 when absent). */
  readonly redrives: number;
}

/** The SQS side (shared/queue/dead-letter-queue.ts in AWS; a fake in tests). */
export interface DeadLetterQueue {
  /** Up to `max` (≤ 10) messages, without waiting; they stay invisible for the DLQ's visibility timeout. */
  receive(max: number): Promise<readonly DeadLetterMessage[]>;
  delete(message: DeadLetterMessage): Promise<void>;
  /** Sends the body to the ingest queue with `reelay-redrives` = `redrives`. */
  redrive(message: DeadLetterMessage, redrives: number): Promise<void>;
}

export interface DeadLetterDrainOptions {
  readonly queue: DeadLetterQueue;
  readonly videos: Pick<VideoDB, 'findByS3Key'>;
  /** Built on first use: a run whose DLQ is empty loads no S3 client. */
  readonly storage: () => Promise<Pick<UploadStorage, 'bucket' | 'videoIdFromKey'>>;
  readonly logger?: Logger;
  /** Messages judged per run. Default 100. */
  readonly maxMessages?: number;
  /** Redrives of one body before it is left for an operator. Default 3. */
  readonly maxRedrives?: number;
}

export interface DeadLetterDrainReport {
  readonly received: number;
  /** Deleted because their video is past ingest, or they carry nothing ingest can use. */
  readonly deleted: number;
  readonly redriven: number;
  /** Left in the DLQ: redriven too often. */
  readonly kept: number;
  /** True when the run stopped at `maxMessages` with messages possibly left: run again soon. */
  readonly more: boolean;
}

export type DeadLetterVerdict = 'delete' | 'redrive' | 'keep';

/** Statuses from which ingest still has work for the object (see the module comment). */
const ingestPending: ReadonlySet<VideoRecord['status']> = new Set(['awaiting_upload', 'uploaded', 'cancelled', 'deleting']);

export function verdictFor(video: VideoRecord | null): 'delete' | 'redrive' {
  if (video === null) return 'redrive';
  if (ingestPending.has(video.status)) return 'redrive';
  if (video.status === 'processing' && video.mux.assetId === null) return 'redrive';
  return 'delete';
}

export async function drainDeadLetters(options: DeadLetterDrainOptions): Promise<DeadLetterDrainReport> {
  const log = options.logger ?? silentLogger;
  const maxMessages = options.maxMessages ?? 100;
  const maxRedrives = options.maxRedrives ?? 3;
  let received = 0;
  let deleted = 0;
  let redriven = 0;
  let kept = 0;
  for (;;) {
    const batch = await options.queue.receive(Math.min(10, maxMessages - received));
    if (batch.length === 0) return { received, deleted, redriven, kept, more: false };
    received += batch.length;
    for (const message of batch) {
      const verdict = await judge(message, options, maxRedrives);
      if (verdict === 'keep') {
        kept += 1;
        log.warn('dead_letters.kept', { messageId: message.messageId, redrives: message.redrives });
        continue;
      }
      if (verdict === 'redrive') {
        // Sent before the delete: a failure between the two leaves a duplicate, which ingest tolerates, never a loss.
        await options.queue.redrive(message, message.redrives + 1);
        redriven += 1;
      } else {
        deleted += 1;
      }
      await options.queue.delete(message);
      log.info('dead_letters.handled', { messageId: message.messageId, verdict, redrives: message.redrives });
    }
    if (received >= maxMessages) return { received, deleted, redriven, kept, more: true };
  }
}

async function judge(message: DeadLetterMessage, options: DeadLetterDrainOptions, maxRedrives: number): Promise<DeadLetterVerdict> {
  let parsed;
  try {
    parsed = parseS3NotificationBody(message.messageId, message.body);
  } catch {
    return 'delete';
  }
  if (parsed.kind !== 'objects') return 'delete';
  let verdict: DeadLetterVerdict = 'delete';
  const storage = await options.storage();
  for (const object of parsed.objects) {
    if (object.bucket !== storage.bucket || storage.videoIdFromKey(object.key) === undefined) continue;
    if (verdictFor(await options.videos.findByS3Key(object.key)) === 'redrive') verdict = 'redrive';
  }
  if (verdict === 'redrive' && message.redrives >= maxRedrives) return 'keep';
  return verdict;
}
