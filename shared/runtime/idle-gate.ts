/**
 * Whether a scheduled reconcile run may touch the database. It must not wake a paused writer for nothing, and must
 * not keep an idle one awake by itself; it must run whenever work was left for it, and when in doubt.
 *
 *   markers pending                       → run (the functions that leave work note it: shared/storage/pending-work.ts)
 *   no marker store / no probe            → run (nothing to decide on: today's behaviour)
 *   listing or probe failed               → run (fail safe, logged)
 *   writer paused over the whole window   → skip, with zero Data API calls
 *   writer up, but no later than reconcile's own last sweep could keep it up (sweep + auto-pause + slack)
 *                                         → skip: the activity is our own, and running again would hold the
 *                                           auto-pause open forever (a 15-minute schedule under a 60-minute pause)
 *   writer up later than that             → run: the database is awake anyway (traffic), as today
 */
import type { Logger } from '../log.js';
import type { PendingWork, PendingWorkListing } from '../storage/pending-work.js';
import type { DatabaseActivity, DatabaseActivityProbe } from './database-activity.js';

export type GateReason = 'pending' | 'awake' | 'no_marker_store' | 'no_probe' | 'listing_failed' | 'probe_failed' | 'idle' | 'own_activity';

export interface GateDecision {
  readonly run: boolean;
  readonly reason: GateReason;
  /** The markers listed before the run: the ones a clean run clears. */
  readonly listing: PendingWorkListing | null;
  readonly activity: DatabaseActivity | null;
}

export interface IdleGateOptions {
  readonly pendingWork: PendingWork;
  readonly probe: DatabaseActivityProbe | undefined;
  /** The cluster's auto-pause delay. */
  readonly autoPauseSeconds: number;
  /**
   * Beyond the delay: pausing takes a moment, data points stand for the minute they start, and CloudWatch is a minute
   * or two late. Default 300 s (RECONCILE_ACTIVITY_SLACK_SECONDS). Too small, and the gate takes the writer's own
   * pause for traffic and sweeps again, keeping it awake; too large only delays an opportunistic sweep.
   */
  readonly slackSeconds?: number;
  readonly logger: Logger;
}

export async function decideScheduledRun(options: IdleGateOptions, now: Date): Promise<GateDecision> {
  const { pendingWork, probe, logger } = options;
  if (!pendingWork.durable) return { run: true, reason: 'no_marker_store', listing: null, activity: null };
  let listing: PendingWorkListing;
  try {
    listing = await pendingWork.list();
  } catch (error) {
    logger.warn('reconcile.gate_listing_failed', { error });
    return { run: true, reason: 'listing_failed', listing: null, activity: null };
  }
  if (listing.markers.length > 0) return { run: true, reason: 'pending', listing, activity: null };
  if (probe === undefined) return { run: true, reason: 'no_probe', listing, activity: null };
  let activity: DatabaseActivity;
  try {
    activity = await probe.probe(now);
  } catch (error) {
    logger.warn('reconcile.gate_probe_failed', { error });
    return { run: true, reason: 'probe_failed', listing, activity: null };
  }
  if (activity.lastActiveAt === null) return { run: false, reason: 'idle', listing, activity };
  const ownUntil = listing.lastSweepAt === null ? null : listing.lastSweepAt.getTime() + (options.autoPauseSeconds + (options.slackSeconds ?? 300)) * 1000;
  if (ownUntil !== null && activity.lastActiveAt.getTime() <= ownUntil) return { run: false, reason: 'own_activity', listing, activity };
  return { run: true, reason: 'awake', listing, activity };
}
