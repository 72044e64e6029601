/**
 * "Work pending" markers: small objects in the upload bucket, outside the upload prefix, that the functions which
 * leave work for the reconcile job write, so that reconcile can tell whether there is work without asking the
 * database (which would wake a paused Aurora Serverless v2 writer). Keys:
 *
 *   _reelay/pending/<kind>/<ISO time>-<uuid>   one per event; unique, so clearing the markers listed before a run
 *                                              never removes one written during it
 *   _reelay/swept/<ISO time>-<uuid>            when reconcile last ran its sweeps (the newest one counts)
 *
 * A marker says "look", not what to do: the sweeps still find the work in the database. Writing one never fails the
 * request that writes it (a warning is logged; the sweep then runs when the database is awake anyway).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { readHttpUrl, readFlag, readString, type Env } from '../config/reader.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { localS3CredentialsFromEnv, type LocalS3Credentials } from './config.js';

/** What left the work: a deferral, a half-done deletion, an ingest or a webhook to retry, an applied migration. */
export const pendingWorkKinds = ['deferred', 'deletion', 'ingest', 'webhook', 'migration'] as const;
export type PendingWorkKind = (typeof pendingWorkKinds)[number];

export const pendingWorkRoot = '_reelay/';
export const pendingMarkerPrefix = `${pendingWorkRoot}pending/`;
export const sweepStampPrefix = `${pendingWorkRoot}swept/`;

export interface PendingMarker {
  readonly key: string;
  readonly kind: string;
}

export interface PendingWorkListing {
  /** Markers, oldest first (at most one page: more are seen by the next run). */
  readonly markers: readonly PendingMarker[];
  /** When reconcile last finished its sweeps, or null if it never did (or the stamp was lost). */
  readonly lastSweepAt: Date | null;
  /** The sweep stamps seen (the next stamp replaces them). */
  readonly stampKeys: readonly string[];
}

export interface PendingWork {
  /** Records that there is work; never throws (a failure is logged as a warning). */
  note(kind: PendingWorkKind, detail?: Readonly<Record<string, string | number | boolean | null>>): Promise<void>;
  list(): Promise<PendingWorkListing>;
  /** Removes exactly these markers (the ones listed before a run that had no failures). */
  clear(keys: readonly string[]): Promise<void>;
  /** Records that the sweeps ran now; removes the stamps listed before. */
  stampSweep(previous: readonly string[]): Promise<void>;
  /** False for {@link noPendingWork}: nothing is recorded, so reconcile must never skip on its word. */
  readonly durable: boolean;
}

/** Nothing recorded, nothing listed: for functions and tests without a bucket. */
export const noPendingWork: PendingWork = {
  durable: false,
  note: async () => {},
  list: async () => ({ markers: [], lastSweepAt: null, stampKeys: [] }),
  clear: async () => {},
  stampSweep: async () => {},
};

export interface PendingWorkSettings {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  readonly credentials?: LocalS3Credentials;
}

/** PENDING_WORK_BUCKET (unset: no markers) with the S3 client settings the storage uses (region, local endpoint). */
export function pendingWorkSettingsFromEnv(env: Env): PendingWorkSettings | undefined {
  const bucket = readString(env, 'PENDING_WORK_BUCKET');
  if (bucket === undefined) return undefined;
  const endpoint = readHttpUrl(env, 'S3_ENDPOINT');
  const credentials = localS3CredentialsFromEnv(env, { ...(endpoint === undefined ? {} : { endpoint }) });
  return {
    bucket,
    region: readString(env, 'AWS_REGION') ?? 'us-east-1',
    ...(endpoint === undefined ? {} : { endpoint }),
    forcePathStyle: readFlag(env, 'S3_FORCE_PATH_STYLE') ?? endpoint !== undefined,
    ...(credentials === undefined ? {} : { credentials }),
  };
}

/** A unique key that sorts by time: `<prefix><ISO time>-<uuid>`. */
export function timedKey(prefix: string, now: Date = new Date()): string {
  return `${prefix}${now.toISOString()}-${crypto.randomUUID()}`;
}

/** The time a timed key was made, or null for a key not made by {@link timedKey}. */
export function timeOfKey(key: string): Date | null {
  const match = /(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)-[0-9a-f-]{36}$/.exec(key);
  return match?.[1] === undefined ? null : new Date(match[1]);
}

export interface S3PendingWorkOptions {
  readonly logger?: Logger;
  readonly now?: () => Date;
  /** The S3 client (tests); default: built from the settings on first use, with the SDK imported then. */
  readonly client?: () => Promise<S3Client>;
}

/**
 * Markers in S3. The S3 calls live in ./pending-work-s3.ts, imported on the first call, with named imports so a
 * bundle keeps only the four commands used: a function that never notes anything never evaluates the SDK.
 */
export class S3PendingWork implements PendingWork {
  readonly durable = true;
  readonly #bucket: string;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #client: () => Promise<S3Client>;
  #built: Promise<S3Client> | undefined;

  constructor(settings: PendingWorkSettings, options: S3PendingWorkOptions = {}) {
    this.#bucket = settings.bucket;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => new Date());
    this.#client =
      options.client ??
      (() => {
        this.#built ??= import('./pending-work-s3.js').then(({ createMarkerClient }) => createMarkerClient(settings));
        return this.#built;
      });
  }

  async note(kind: PendingWorkKind, detail: Readonly<Record<string, string | number | boolean | null>> = {}): Promise<void> {
    const key = timedKey(`${pendingMarkerPrefix}${kind}/`, this.#now());
    try {
      await this.#put(key, JSON.stringify({ kind, ...detail }));
      this.#logger.debug('pending_work.noted', { kind, key });
    } catch (error) {
      // The request that found the work must not fail for it: the sweep still runs whenever the database is awake.
      this.#logger.warn('pending_work.note_failed', { kind, key, error });
    }
  }

  async list(): Promise<PendingWorkListing> {
    const { listKeys } = await import('./pending-work-s3.js');
    // One call for both: markers sort before stamps (`pending/` < `swept/`), a page holds 1000 keys.
    const keys = await listKeys(await this.#client(), this.#bucket, pendingWorkRoot);
    const markers = keys.filter((key) => key.startsWith(pendingMarkerPrefix)).map((key) => ({ key, kind: key.slice(pendingMarkerPrefix.length).split('/')[0] ?? '' }));
    const stampKeys = keys.filter((key) => key.startsWith(sweepStampPrefix));
    // When the page was full of markers the stamps are on a later page: unknown, which reads as "never swept".
    const times = stampKeys.map(timeOfKey).filter((time): time is Date => time !== null);
    const lastSweepAt = times.length === 0 ? null : new Date(Math.max(...times.map((time) => time.getTime())));
    return { markers, lastSweepAt, stampKeys };
  }

  async clear(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const { deleteKeys } = await import('./pending-work-s3.js');
    const errors = await deleteKeys(await this.#client(), this.#bucket, keys);
    // A marker that could not be removed only makes the next run sweep again.
    if (errors.length > 0) this.#logger.warn('pending_work.clear_incomplete', { errors: errors.length, first: errors[0] ?? null });
  }

  async stampSweep(previous: readonly string[]): Promise<void> {
    await this.#put(timedKey(sweepStampPrefix, this.#now()), '{}');
    await this.clear(previous);
  }

  async #put(key: string, body: string): Promise<void> {
    const { putOnce } = await import('./pending-work-s3.js');
    await putOnce(await this.#client(), this.#bucket, key, body);
  }
}

/** The markers of a function: in S3 when PENDING_WORK_BUCKET is set, none otherwise. */
export function pendingWorkFor(settings: PendingWorkSettings | undefined, options: S3PendingWorkOptions = {}): PendingWork {
  return settings === undefined ? noPendingWork : new S3PendingWork(settings, options);
}
