/**
 * Picks and builds the driver for an environment. Each driver module is loaded with a dynamic import, so a Lambda
 * bundle that only ever talks to the Data API does not load pg or PGlite at cold start; their specifiers are not
 * literals, so esbuild leaves both out of function bundles (see below).
 */
import type * as PgDriverModule from './pg-driver.js';
import type * as PgliteDriverModule from './pglite-driver.js';
import type { Env } from '../config/reader.js';
import { silentLogger, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Driver } from './driver.js';
import type { DataApiRetryOptions } from './data-api-driver.js';

export type DriverConfig =
  | {
      readonly kind: 'data-api';
      readonly resourceArn: string;
      readonly secretArn: string;
      readonly database: string;
      /** A Data-API-compatible endpoint (the local one in `npm start` and tests); AWS's when absent. */
      readonly endpoint?: string;
      readonly region?: string;
    }
  | { readonly kind: 'pg'; readonly url: string }
  | {
      readonly kind: 'pglite';
      /** Where PGlite keeps its files; in memory when absent. */
      readonly dataDir?: string;
    };

export const defaultDatabaseName = 'reelay';

/**
 * The configuration the environment describes, first match wins:
 * RDS_RESOURCE_ARN + RDS_SECRET_ARN (RDS_DATABASE, default "reelay"; DATA_API_ENDPOINT for a local endpoint;
 * AWS_REGION) → Data API; DATABASE_URL → pg; otherwise PGlite in PGLITE_DATA_DIR, or in memory.
 */
export function driverConfigFromEnv(env: Env): DriverConfig {
  const resourceArn = env.RDS_RESOURCE_ARN;
  const secretArn = env.RDS_SECRET_ARN;
  if (resourceArn && secretArn) {
    return {
      kind: 'data-api',
      resourceArn,
      secretArn,
      database: env.RDS_DATABASE || defaultDatabaseName,
      ...(env.DATA_API_ENDPOINT ? { endpoint: env.DATA_API_ENDPOINT } : {}),
      ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    };
  }
  if (env.DATABASE_URL) return { kind: 'pg', url: env.DATABASE_URL };
  return { kind: 'pglite', ...(env.PGLITE_DATA_DIR ? { dataDir: env.PGLITE_DATA_DIR } : {}) };
}

/**
 * Data API calls time out after 45 s on AWS's side. The SDK must wait longer than that, or it gives up on a
 * statement that is still running and a retry applies it twice.
 */
export const dataApiRequestTimeoutMs = 70_000;

export interface CreateDriverOptions {
  readonly logger?: Logger;
  /** Where the Data API driver counts its retries and resumes. */
  readonly metrics?: Metrics;
  /**
   * The Data API driver's retry budget (default: wait out a Serverless v2 resume, ~60 s). A caller that must answer
   * fast, such as the health check, passes a short one and reports "resuming" instead of waiting.
   */
  readonly dataApiRetry?: DataApiRetryOptions;
}

/**
 * Embedded PGlite is for laptops and tests, never a Lambda (it would be a private in-memory database per container).
 * The specifier is not a literal, so esbuild leaves this import unbundled: function bundles do not carry PGlite's
 * ~530 KiB, which every cold start would otherwise parse (docs/PERFORMANCE.md, P2), and a function misconfigured
 * to use PGlite fails at once instead of running on an empty database.
 */
const pgliteDriverModule: string = './pglite-driver.js';

/**
 * node-postgres is for laptops, tests and the CLI; a function never gets DATABASE_URL (the stack test forbids it), so
 * the same non-literal specifier keeps pg (~48 KiB minified) out of function bundles. Lazily wrapped or not, bundled
 * code is parsed at every cold start, which cost the database functions about 0.05× of the rds-data-only bundle.
 */
const pgDriverModule: string = './pg-driver.js';

export async function createDriver(config: DriverConfig, options: CreateDriverOptions = {}): Promise<Driver> {
  const logger = options.logger ?? silentLogger;
  switch (config.kind) {
    case 'data-api': {
      const [{ RDSDataClient }, { DataApiDriver }] = await Promise.all([
        import('@aws-sdk/client-rds-data'),
        import('./data-api-driver.js'),
      ]);
      const client = new RDSDataClient({
        // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes, and a hung call
        // would hang the invocation until Lambda kills it.
        requestHandler: { requestTimeout: dataApiRequestTimeoutMs, connectionTimeout: 5_000, throwOnRequestTimeout: true },
        // DataApiDriver decides what is safe to repeat (it knows which statements are idempotent); the SDK's own
        // retries would repeat a timed-out write blindly.
        maxAttempts: 1,
        ...(config.region ? { region: config.region } : {}),
        ...(config.endpoint ? endpointSettings(config.endpoint, config.region) : {}),
      });
      return new DataApiDriver({
        client,
        resourceArn: config.resourceArn,
        secretArn: config.secretArn,
        database: config.database,
        logger,
        ...(options.metrics ? { metrics: options.metrics } : {}),
        ownsClient: true,
        ...(options.dataApiRetry ? { retry: options.dataApiRetry } : {}),
      });
    }
    case 'pg': {
      const { PgDriver } = (await import(pgDriverModule)) as typeof PgDriverModule;
      return PgDriver.fromUrl(config.url, {}, { logger });
    }
    case 'pglite': {
      const { PgliteDriver } = (await import(pgliteDriverModule)) as typeof PgliteDriverModule;
      return PgliteDriver.open(config.dataDir);
    }
  }
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A local endpoint checks no signatures, and a laptop may have no AWS credentials or region configured: for a
 * loopback endpoint the SDK gets placeholders instead of failing to find any. Any other endpoint (e.g. a VPC
 * endpoint) keeps the normal credential chain.
 */
function endpointSettings(endpoint: string, region: string | undefined) {
  if (!loopbackHosts.has(new URL(endpoint).hostname)) return { endpoint };
  return {
    endpoint,
    region: region ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
}
