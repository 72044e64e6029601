/**
 * The ingest settings read from the environment, in a module of their own: reconcile needs them at cold start but
 * loads the ingest service itself (and, through it, the S3 client) only when a sweep has something to ingest.
 */
import { readDuration, type Env } from '../config/reader.js';
import type { IngestServiceOptions } from './ingest-service.js';

/** INGEST_URL_TTL_SECONDS and INGEST_STALE_CLAIM_SECONDS, for every function that ingests (ingest, reconcile). */
export function ingestSettingsFromEnv(env: Env): Pick<IngestServiceOptions, 'inputUrlTtlSeconds' | 'staleClaimSeconds'> {
  const inputUrlTtlSeconds = readDuration(env, 'INGEST_URL_TTL_SECONDS', 'seconds', { min: 0 });
  const staleClaimSeconds = readDuration(env, 'INGEST_STALE_CLAIM_SECONDS', 'seconds', { min: 0 });
  return {
    ...(inputUrlTtlSeconds === undefined ? {} : { inputUrlTtlSeconds }),
    ...(staleClaimSeconds === undefined ? {} : { staleClaimSeconds }),
  };
}
