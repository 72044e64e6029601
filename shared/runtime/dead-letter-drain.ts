/**
 * The ingest DLQ's drain as reconcile runs it (shared/videos/dead-letters.ts over shared/queue/dead-letter-queue.ts):
 * built from the settings its edge parsed (INGEST_DLQ_URL, INGEST_QUEUE_URL), a no-op without them (a stack from
 * before issue N). A failed drain is logged and reported as null: it must not fail the run's sweeps, and whatever
 * it left is in the DLQ for the next run. A drain that stops at `maxMessages` with more left goes on with another
 * batch while the run's time budget allows (`timeUp`), rather than leaving the rest a whole schedule period.
 */
import type { VideoDB } from '../db/video-db.js';
import type { Logger } from '../log.js';
import { sqsDeadLetterQueue, type DeadLetterQueueSettings } from '../queue/dead-letter-queue.js';
import type { UploadStorage } from '../storage/uploads.js';
import { drainDeadLetters, type DeadLetterDrainReport, type DeadLetterQueue } from '../videos/dead-letters.js';

export interface DeadLetterDrainDependencies {
  readonly videos: Pick<VideoDB, 'findByS3Key'>;
  readonly storage: () => Promise<Pick<UploadStorage, 'bucket' | 'videoIdFromKey'>>;
  readonly logger: Logger;
  /** Instead of SQS (tests). */
  readonly queue?: DeadLetterQueue;
  readonly maxMessages?: number;
}

/** Null when there is nothing to drain with (no settings), else a drain to call once per run. */
export function functionDeadLetterDrain(
  settings: DeadLetterQueueSettings | undefined,
  dependencies: DeadLetterDrainDependencies,
): ((timeUp?: () => boolean) => Promise<DeadLetterDrainReport | null>) | null {
  const queue = dependencies.queue ?? (settings === undefined ? undefined : sqsDeadLetterQueue(settings));
  if (queue === undefined) return null;
  const { videos, storage, logger } = dependencies;
  return async (timeUp = () => true) => {
    const total = { received: 0, deleted: 0, redriven: 0, kept: 0, more: false, batches: 0 };
    try {
      do {
        const report = await drainDeadLetters({ queue, videos, storage, logger, ...(dependencies.maxMessages === undefined ? {} : { maxMessages: dependencies.maxMessages }) });
        total.received += report.received;
        total.deleted += report.deleted;
        total.redriven += report.redriven;
        total.kept += report.kept;
        total.more = report.more;
        total.batches += 1;
      } while (total.more && !timeUp());
      const { batches, ...report } = total;
      if (report.received > 0) logger.info('reconcile.dead_letters', { ...report, batches });
      return report;
    } catch (error) {
      logger.warn('reconcile.dead_letters_failed', { error });
      return null;
    }
  };
}
