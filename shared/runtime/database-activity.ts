/**
 * Whether the database writer has been up lately, asked without asking the database (a query would wake a paused
 * Aurora Serverless v2 writer, which is what the probe exists to avoid).
 *
 * - In AWS: the cluster's `ServerlessDatabaseCapacity` metric (AWS/RDS, DBClusterIdentifier), 1-minute maxima over
 *   the window; 0 while paused (shared/runtime/cloudwatch-activity.ts, which alone loads the CloudWatch client).
 * - Locally: the local Data API's record of its last call (`GET /_local/activity`), read as a cluster that stays up
 *   for the auto-pause delay after each call would show in the metric (docs/LOCAL.md).
 */
import { readDuration, readHttpUrl, readString, type Env } from '../config/reader.js';

export interface DatabaseActivity {
  /** The latest time within the window the writer had capacity (> 0 ACU); null: paused for the whole window. */
  readonly lastActiveAt: Date | null;
  /** Where the answer came from, for the log line. */
  readonly source: 'cloudwatch' | 'local-data-api';
}

export interface DatabaseActivityProbe {
  /** Throws when the source cannot answer; the caller then treats the database as awake (fail safe). */
  probe(now: Date): Promise<DatabaseActivity>;
}

export interface DatabaseActivitySettings {
  /** DATABASE_CLUSTER_ID: the Aurora cluster whose capacity metric is read. */
  readonly clusterId?: string;
  /** CLOUDWATCH_ENDPOINT: another CloudWatch endpoint (tests). */
  readonly cloudWatchEndpoint?: string;
  /** DATABASE_ACTIVITY_URL: the local Data API's activity record, instead of CloudWatch. */
  readonly localActivityUrl?: string;
  /** DATABASE_AUTO_PAUSE_SECONDS: the cluster's auto-pause delay (default 300). */
  readonly autoPauseSeconds: number;
  /** RECONCILE_ACTIVITY_WINDOW_SECONDS: how far back the metric is read (default 600). */
  readonly windowSeconds: number;
  /** RECONCILE_ACTIVITY_SLACK_SECONDS: how long past its own sweep + the auto-pause the activity is still its own (default 300). */
  readonly slackSeconds: number;
  readonly region: string;
}

export function databaseActivitySettingsFromEnv(env: Env): DatabaseActivitySettings {
  const clusterId = readString(env, 'DATABASE_CLUSTER_ID');
  const cloudWatchEndpoint = readHttpUrl(env, 'CLOUDWATCH_ENDPOINT');
  const localActivityUrl = readHttpUrl(env, 'DATABASE_ACTIVITY_URL');
  return {
    ...(clusterId === undefined ? {} : { clusterId }),
    ...(cloudWatchEndpoint === undefined ? {} : { cloudWatchEndpoint }),
    ...(localActivityUrl === undefined ? {} : { localActivityUrl }),
    autoPauseSeconds: readDuration(env, 'DATABASE_AUTO_PAUSE_SECONDS', 'seconds', { min: 1 }) ?? 300,
    windowSeconds: readDuration(env, 'RECONCILE_ACTIVITY_WINDOW_SECONDS', 'seconds', { min: 60, max: 3 * 3600 }) ?? 600,
    slackSeconds: readDuration(env, 'RECONCILE_ACTIVITY_SLACK_SECONDS', 'seconds', { min: 0, max: 3600 }) ?? 300,
    region: readString(env, 'AWS_REGION') ?? 'us-east-1',
  };
}

/** The local Data API's activity record, as the capacity metric of a cluster pausing `autoPauseSeconds` after a call. */
export function localActivityProbe(url: string, settings: Pick<DatabaseActivitySettings, 'autoPauseSeconds' | 'windowSeconds'>): DatabaseActivityProbe {
  return {
    async probe(now) {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
      const body = (await response.json()) as { lastCallAt?: unknown };
      const lastCallAt = typeof body.lastCallAt === 'string' ? new Date(body.lastCallAt) : null;
      if (lastCallAt === null || Number.isNaN(lastCallAt.getTime())) return { lastActiveAt: null, source: 'local-data-api' };
      // Up from the call until the auto-pause delay has passed without another one.
      const upUntil = Math.min(now.getTime(), lastCallAt.getTime() + settings.autoPauseSeconds * 1000);
      const inWindow = upUntil >= now.getTime() - settings.windowSeconds * 1000;
      return { lastActiveAt: inWindow ? new Date(upUntil) : null, source: 'local-data-api' };
    },
  };
}

/** The probe the settings name (CloudWatch's client loaded on first use), or undefined: none configured. */
export function databaseActivityProbe(settings: DatabaseActivitySettings): DatabaseActivityProbe | undefined {
  if (settings.localActivityUrl !== undefined) return localActivityProbe(settings.localActivityUrl, settings);
  const { clusterId } = settings;
  if (clusterId === undefined) return undefined;
  return {
    async probe(now) {
      const { cloudWatchActivityProbe } = await import('./cloudwatch-activity.js');
      return cloudWatchActivityProbe({ ...settings, clusterId }).probe(now);
    },
  };
}
