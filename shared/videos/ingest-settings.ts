/**
 * The ingest settings read from the environment, in a module of their own: reconcile needs them at cold start but
 * loads the ingest service itself (and, through it, the S3 client) only when a sweep has something to ingest.
 */
import { readDuration, type Env } from '../config/reader.js';

/** How an ingest signs its input URL and when it takes over a stale claim (IngestService's tunables). */
export interface IngestSettings {
  /**
   * Lifetime asked of the input URL (default 6 h: Mux downloads soon, but a queue of large files can wait). A URL
   * signed with a Lambda role's temporary credentials dies with that session, possibly sooner; the expiry actually
   * obtained is logged, and a download that failed that way is retried by the reconcile job.
   */
  readonly inputUrlTtlSeconds?: number;
  /** A `processing` claim without an asset older than this is taken over (default 900 s, Lambda's longest timeout). */
  readonly staleClaimSeconds?: number;
}

/** INGEST_URL_TTL_SECONDS and INGEST_STALE_CLAIM_SECONDS, for every function that ingests (ingest, reconcile). */
export function ingestSettingsFromEnv(env: Env): IngestSettings {
  const inputUrlTtlSeconds = readDuration(env, 'INGEST_URL_TTL_SECONDS', 'seconds', { min: 0 });
  const staleClaimSeconds = readDuration(env, 'INGEST_STALE_CLAIM_SECONDS', 'seconds', { min: 0 });
  return {
    ...(inputUrlTtlSeconds === undefined ? {} : { inputUrlTtlSeconds }),
    ...(staleClaimSeconds === undefined ? {} : { staleClaimSeconds }),
  };
}
