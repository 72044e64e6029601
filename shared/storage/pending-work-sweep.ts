/**
 * Reconcile's side of the "work pending" markers (shared/storage/pending-work.ts): listing `_reelay/`, clearing the
 * markers a clean run had listed, stamping its sweeps. It needs S3Client (ListObjectsV2, DeleteObjects), which only
 * reconcile carries anyway; the writers' side signs one PUT without it. The SDK is imported on the first listing, not
 * at the function's INIT (docs/PERFORMANCE.md, P2: it was most of reconcile's import time).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { once } from '../runtime/lazy.js';
import { s3ClientSettings } from './config.js';
import {
  noPendingWork,
  pendingMarkerPrefix,
  pendingWorkRoot,
  putMarker,
  S3PendingNotes,
  sweepStampPrefix,
  timedKey,
  timeOfKey,
  type PendingWork,
  type PendingWorkKind,
  type PendingWorkListing,
  type PendingWorkSettings,
} from './pending-work.js';

const s3 = once(() => import('@aws-sdk/client-s3'));

export interface S3PendingWorkOptions {
  readonly logger?: Logger;
  readonly now?: () => Date;
  /** The S3 client (tests); default: built from the settings on first use. */
  readonly client?: () => Promise<S3Client>;
}

export class S3PendingWork implements PendingWork {
  readonly durable = true;
  readonly #settings: PendingWorkSettings;
  readonly #notes: S3PendingNotes;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #client: () => Promise<S3Client>;
  #built: S3Client | undefined;

  constructor(settings: PendingWorkSettings, options: S3PendingWorkOptions = {}) {
    this.#settings = settings;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => new Date());
    this.#notes = new S3PendingNotes(settings, { logger: this.#logger, now: this.#now });
    this.#client = options.client ?? (async () => (this.#built ??= new (await s3()).S3Client(s3ClientSettings(settings, settings.credentials))));
  }

  note(kind: PendingWorkKind, detail?: Readonly<Record<string, string | number | boolean | null>>): Promise<void> {
    return this.#notes.note(kind, detail);
  }

  async list(): Promise<PendingWorkListing> {
    const client = await this.#client();
    // One call for both: markers sort before stamps (`pending/` < `swept/`), a page holds 1000 keys.
    const { ListObjectsV2Command } = await s3();
    const page = await client.send(new ListObjectsV2Command({ Bucket: this.#settings.bucket, Prefix: pendingWorkRoot }));
    const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
    const markers = keys.filter((key) => key.startsWith(pendingMarkerPrefix)).map((key) => ({ key, kind: key.slice(pendingMarkerPrefix.length).split('/')[0] ?? '' }));
    const stampKeys = keys.filter((key) => key.startsWith(sweepStampPrefix));
    // When the page was full of markers the stamps are on a later page: unknown, which reads as "never swept".
    const times = stampKeys.map(timeOfKey).filter((time): time is Date => time !== null);
    const lastSweepAt = times.length === 0 ? null : new Date(Math.max(...times.map((time) => time.getTime())));
    return { markers, lastSweepAt, stampKeys };
  }

  async clear(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const client = await this.#client();
    const { DeleteObjectsCommand } = await s3();
    const errors: string[] = [];
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000);
      const result = await client.send(new DeleteObjectsCommand({ Bucket: this.#settings.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      for (const error of result.Errors ?? []) errors.push(error.Code ?? 'unknown');
    }
    // A marker that could not be removed only makes the next run sweep again.
    if (errors.length > 0) this.#logger.warn('pending_work.clear_incomplete', { errors: errors.length, first: errors[0] ?? null });
  }

  async stampSweep(previous: readonly string[]): Promise<void> {
    await putMarker(this.#settings, timedKey(sweepStampPrefix, this.#now()), '{}');
    await this.clear(previous);
  }
}

/** Reconcile's markers: in S3 when PENDING_WORK_BUCKET is set, none otherwise. */
export function pendingWorkFor(settings: PendingWorkSettings | undefined, options: S3PendingWorkOptions = {}): PendingWork {
  return settings === undefined ? noPendingWork : new S3PendingWork(settings, options);
}
