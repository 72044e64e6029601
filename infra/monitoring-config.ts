/** The monitoring context (`alarms`, `dashboard`, with `alarmEmail`): which CloudWatch alarms and dashboard a stack has. */
import type { Stage } from './config.js';
import { contextError, readBoolean, type ContextReader } from './context.js';

/**
 * Alarms cost $0.10 a month each (about 25 of them) and the dashboard $3 beyond an account's first three, whether or not
 * anything happens (docs/DEPLOY.md, The idle bill). So:
 * - prod: both, always. Turning the alarms off there is refused (see readMonitoring); the dashboard may be left out
 *   (an account that already pays for its dashboards), with a synth warning (stack.ts).
 * - dev: alarms only when someone is told (`alarmEmail`) or asked for (`alarms=true`, e.g. to try an alarm out in the
 *   console); the dashboard only when asked (`dashboard=true`). An alarm that notifies nobody on a disposable stack
 *   is a bill nobody reads.
 * The functions' EMF metrics are unaffected: they cost nothing while nothing happens, and the local metrics need them.
 */
export interface MonitoringConfig {
  /** The alarms of Alarms (constructs/alarms.ts), the events webhook's included. */
  readonly alarms: boolean;
  /** The CloudWatch dashboard (constructs/dashboard.ts). */
  readonly dashboard: boolean;
}

export function readMonitoring(read: ContextReader, stage: Stage, alarmEmail: string | undefined): MonitoringConfig {
  const alarms = readBoolean(read, 'alarms', stage === 'prod' || alarmEmail !== undefined);
  // Refused rather than warned: a warning scrolls past in a deploy log, and without alarms nobody learns of an upload
  // stuck in the DLQ, a failing function or events that never left the outbox. They cost ~$2.50 a month; an operator
  // with other monitoring can still leave alarmEmail unset (and gets a warning for that).
  if (stage === 'prod' && !alarms) {
    throw new Error(
      'context "alarms" may not be false on the prod stage: the alarms are how an operator learns of a stuck upload, a failing function or unpublished events. ' +
        'Leave alarmEmail unset to be notified by nobody (a synth warning says so), or use a dev stage',
    );
  }
  if (!alarms && alarmEmail !== undefined) {
    throw contextError('alarms', 'true (or unset) with alarmEmail, which subscribes to the alarms', read('alarms'));
  }
  return { alarms, dashboard: readBoolean(read, 'dashboard', stage === 'prod') };
}
