/**
 * The ingest settings read from the environment, in a module of their own: reconcile needs them at cold start but
 * loads the ingest service itself (and, through it, the S3 client) only when a sweep has something to ingest.
 */
import type { Env } from '../runtime/lazy.js';
import type { IngestServiceOptions } from './ingest-service.js';

function optionalSeconds(env: Env, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`${name} must be a whole number of seconds, got "${raw}"`);
  return value;
}

/** INGEST_URL_TTL_SECONDS and INGEST_STALE_CLAIM_SECONDS, for every function that ingests (ingest, reconcile). */
export function ingestSettingsFromEnv(env: Env): Pick<IngestServiceOptions, 'inputUrlTtlSeconds' | 'staleClaimSeconds'> {
  const inputUrlTtlSeconds = optionalSeconds(env, 'INGEST_URL_TTL_SECONDS');
  const staleClaimSeconds = optionalSeconds(env, 'INGEST_STALE_CLAIM_SECONDS');
  return {
    ...(inputUrlTtlSeconds === undefined ? {} : { inputUrlTtlSeconds }),
    ...(staleClaimSeconds === undefined ? {} : { staleClaimSeconds }),
  };
}
