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
import { readHttpUrl, readFlag, readString, type Env } from '../config/reader.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { localS3CredentialsFromEnv, roleCredentialsFromEnv, type LocalS3Credentials, type RoleCredentials } from './config.js';

/**
 * What left the work: a deferral, a half-done deletion, an ingest or a webhook to retry, an applied migration, a
 * lifecycle event left unpublished, an upload still awaited (reconcile's own: an `awaiting_upload` video whose object
 * may yet arrive with its S3 event lost, so a later run must look for it even when nothing else wakes the database).
 */
export const pendingWorkKinds = ['deferred', 'deletion', 'ingest', 'webhook', 'migration', 'events', 'upload'] as const;
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

/** What the functions that leave work need: writing a marker. Never throws (a failure is logged as a warning). */
export interface PendingWorkNotes {
  note(kind: PendingWorkKind, detail?: Readonly<Record<string, string | number | boolean | null>>): Promise<void>;
}

/** Reconcile's side: listing and clearing the markers, stamping its sweeps (shared/storage/pending-work-sweep.ts). */
export interface PendingWork extends PendingWorkNotes {
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
  /** The local S3's keys (S3_ENDPOINT set). */
  readonly credentials?: LocalS3Credentials;
  /** In AWS: the role's keys as Lambda puts them in the environment, which sign the marker PUTs. */
  readonly roleCredentials?: RoleCredentials;
}

/** PENDING_WORK_BUCKET (unset: no markers) with the S3 settings the storage uses (region, local endpoint, keys). */
export function pendingWorkSettingsFromEnv(env: Env): PendingWorkSettings | undefined {
  const bucket = readString(env, 'PENDING_WORK_BUCKET');
  if (bucket === undefined) return undefined;
  const localEndpoint = readHttpUrl(env, 'S3_ENDPOINT');
  const credentials = localS3CredentialsFromEnv(env, { ...(localEndpoint === undefined ? {} : { endpoint: localEndpoint }) });
  const roleCredentials = credentials === undefined ? roleCredentialsFromEnv(env) : undefined;
  // The signed PUT goes where the SDK's S3Client would: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL are its own settings.
  const endpoint = localEndpoint ?? readHttpUrl(env, 'AWS_ENDPOINT_URL_S3') ?? readHttpUrl(env, 'AWS_ENDPOINT_URL');
  return {
    bucket,
    region: readString(env, 'AWS_REGION') ?? 'us-east-1',
    ...(endpoint === undefined ? {} : { endpoint }),
    forcePathStyle: readFlag(env, 'S3_FORCE_PATH_STYLE') ?? endpoint !== undefined,
    ...(credentials === undefined ? {} : { credentials }),
    ...(roleCredentials === undefined ? {} : { roleCredentials }),
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

export interface PendingNotesOptions {
  readonly logger?: Logger;
  readonly now?: () => Date;
}

/**
 * Markers written with one presigned PUT (shared/storage/presign.ts) sent with fetch: no S3Client, so the functions
 * that only note work (admin and migrate carry no S3 client at all) stay as small as they were. The PUT is
 * write-once (`if-none-match: *`): keys are unique, and the bucket's rule is that reelay never overwrites.
 */
export class S3PendingNotes implements PendingWorkNotes {
  readonly #settings: PendingWorkSettings;
  readonly #logger: Logger;
  readonly #now: () => Date;

  constructor(settings: PendingWorkSettings, options: PendingNotesOptions = {}) {
    this.#settings = settings;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => new Date());
  }

  async note(kind: PendingWorkKind, detail: Readonly<Record<string, string | number | boolean | null>> = {}): Promise<void> {
    const key = timedKey(`${pendingMarkerPrefix}${kind}/`, this.#now());
    try {
      await putMarker(this.#settings, key, JSON.stringify({ kind, ...detail }));
      this.#logger.debug('pending_work.noted', { kind, key });
    } catch (error) {
      // The request that found the work must not fail for it: the sweep still runs whenever the database is awake.
      this.#logger.warn('pending_work.note_failed', { kind, key, error });
    }
  }
}

/** Thrown when S3 refuses a marker PUT (the caller logs it). */
export class MarkerWriteError extends Error {
  constructor(readonly status: number, readonly key: string, readonly body: string) {
    super(`S3 answered ${status} to the marker PUT of ${key}: ${body.slice(0, 200)}`);
    this.name = 'MarkerWriteError';
  }
}

/** One write-once PUT of `body` at `key`, presigned (on the real clock) for a minute and sent at once. */
export async function putMarker(settings: PendingWorkSettings, key: string, body: string): Promise<void> {
  const credentials = settings.credentials ?? settings.roleCredentials;
  if (credentials === undefined) throw new Error('no credentials to sign the marker PUT with (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)');
  const { UrlSigner } = await import('./presign.js');
  const signer = new UrlSigner({
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    forcePathStyle: settings.forcePathStyle,
    credentials: async () => credentials,
  });
  const headers = { 'content-type': 'application/json', 'if-none-match': '*' };
  const { url } = await signer.presign({ method: 'PUT', bucket: settings.bucket, key, operation: 'PutObject', headers, expiresIn: 60, signingDate: new Date() });
  const response = await fetch(url, { method: 'PUT', headers, body, signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new MarkerWriteError(response.status, key, await response.text().catch(() => ''));
  await response.body?.cancel().catch(() => undefined);
}

/** The notes of a function: in S3 when PENDING_WORK_BUCKET is set, none otherwise. */
export function pendingNotesFor(settings: PendingWorkSettings | undefined, options: PendingNotesOptions = {}): PendingWorkNotes {
  return settings === undefined ? noPendingWork : new S3PendingNotes(settings, options);
}
