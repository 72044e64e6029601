/**
 * Runs reconcile's sweeps one after the other, each on its own: a sweep that throws (Mux down, the Data API resuming
 * past its retries) is logged as `reconcile.sweep_failed`, counted as one failure, and the next sweep runs. A sweep
 * that found a full batch and made progress runs another round, until the run's time budget is spent; a run that
 * stops with a full batch left reports `more`.
 */
import type { Logger } from '../../log.js';
import type { ReconcileSummary } from './outcomes.js';

export interface SweepRound {
  /** Items read per round. */
  readonly batch: number;
  readonly summary: ReconcileSummary;
  /** True once no further item may start. */
  readonly timeUp: () => boolean;
}

export interface Sweep {
  /** In logs (`reconcile.sweep_failed`). */
  readonly name: string;
  /** One round: adds its counts to the summary; true when another round may find more work. */
  round(round: SweepRound): Promise<boolean>;
}

/**
 * The time by which no further item may start, in ms on `now`'s clock: the budget, cut to the invocation's remaining
 * time minus `marginMs` (room for the items in flight, the markers and the answer) when one is known — at most a
 * fifth of it, so a short invocation still sweeps.
 */
export function sweepDeadline(now: number, budgetMs: number, remainingMs: number | undefined, marginMs: number): number {
  const available = remainingMs === undefined ? budgetMs : Math.min(budgetMs, remainingMs - Math.min(marginMs, remainingMs / 5));
  return now + Math.max(0, available);
}

export async function runSweeps(
  sweeps: readonly Sweep[],
  options: { readonly batch: number; readonly summary: ReconcileSummary; readonly timeUp: () => boolean; readonly logger: Logger },
): Promise<void> {
  const { batch, summary, timeUp, logger } = options;
  for (const sweep of sweeps) {
    // A sweep that has not started when the time is up has work left, as far as this run knows.
    if (timeUp()) {
      summary.more = true;
      logger.info('reconcile.sweep_deferred', { sweep: sweep.name });
      continue;
    }
    for (let round = 1; ; round += 1) {
      let again: boolean;
      try {
        again = await sweep.round({ batch, summary, timeUp });
      } catch (error) {
        summary.failed += 1;
        logger.error('reconcile.sweep_failed', { sweep: sweep.name, round, error });
        break;
      }
      if (!again) break;
      if (timeUp()) {
        summary.more = true;
        logger.info('reconcile.sweep_stopped', { sweep: sweep.name, rounds: round });
        break;
      }
    }
  }
}
