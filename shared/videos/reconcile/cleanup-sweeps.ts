/**
 * The sweeps that finish what a function left half-done: deletions (Mux or S3 unreachable, a crash, an ingest that
 * was waited for and died; shared/videos/video-deletion.ts) and lifecycle events left unpublished (the outbox,
 * shared/events/outbox.ts).
 */
import { itemLoop, type SweepContext } from './context.js';
import { consumedFullBatch, done, failed, sweepItems } from './outcomes.js';
import type { Sweep } from './runner.js';

export function deletionsSweep(context: SweepContext): Sweep | null {
  const deletion = context.deletion;
  if (deletion === undefined) return null;
  return {
    name: 'deletions',
    async round({ batch, summary, timeUp }) {
      const unfinished = await deletion.listUnfinished(batch);
      const counts = await sweepItems(itemLoop(context, timeUp), 'delete', unfinished, async (video) => {
        const outcome = await deletion.finish(video);
        return outcome.result === 'deleted' ? done : failed(`deletion waits for ${outcome.waitingFor}`);
      });
      summary.deleted += counts.done;
      summary.failed += counts.failed;
      return counts.left > 0 || consumedFullBatch(unfinished.length, batch, counts);
    },
  };
}

/** Last of the `reconcile` action, so the events of what this run changed are among those it finds (if their own publish failed). */
export function eventsSweep(context: SweepContext): Sweep | null {
  const events = context.events;
  if (events === undefined) return null;
  return {
    name: 'events',
    async round({ batch, summary }) {
      const result = await events.sweep({ olderThanSeconds: context.settings.eventGraceSeconds, limit: batch });
      summary.republished += result.republished;
      summary.failed += result.failed;
      if (result.pruned > 0) context.logger.info('reconcile.events_pruned', { pruned: result.pruned });
      return result.more && result.republished > 0 && result.failed === 0;
    },
  };
}
