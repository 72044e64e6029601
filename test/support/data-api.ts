/**
 * A local Data API endpoint on a test database, with an RDSDataClient and a DataApiDriver pointed at it: the
 * production driver, unchanged, over real HTTP on 127.0.0.1.
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { DataApiDriver, type DataApiRetryOptions } from '../../shared/db/data-api-driver.js';
import { virtualClock } from './virtual-clock.js';
import type { Logger } from '../../shared/log.js';
import { startLocalDataApi, type LocalDataApi } from '../../local/data-api/server.js';
import type { TestDatabase } from './databases.js';

export const localResourceArn = 'arn:aws:rds:us-east-1:123456789012:cluster:reelay-local';
export const localSecretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:reelay-local-AbCdEf';
export const localDatabase = 'reelay';

export interface StartDataApiOptions {
  /** The driver's retry settings. Default: the production schedule with waits skipped, so retries are instant. */
  readonly retry?: DataApiRetryOptions;
  /** The client's socket timeout (default 10 s): a `hang` fault longer than this surfaces as a timeout. */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
  readonly transactionIdleMs?: number;
  readonly maxResponseBytes?: number;
  /** Secret ARN → database role (the endpoint runs those calls as the role). */
  readonly secretRoles?: Readonly<Record<string, string>>;
}

export interface StartedDataApi {
  readonly endpoint: string;
  /** maxAttempts 1: the SDK never retries, so what is tested is the driver's own retrying. */
  readonly client: RDSDataClient;
  readonly driver: DataApiDriver;
  readonly server: LocalDataApi;
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
  /** Another DataApiDriver on the same endpoint, authenticating with `secretArn` (closed by `close`). */
  driverFor(secretArn: string): DataApiDriver;
  close(): Promise<void>;
}

export async function startDataApi(db: TestDatabase, options: StartDataApiOptions = {}): Promise<StartedDataApi> {
  const server = await startLocalDataApi({
    backend: db.connection,
    ...(options.logger && { logger: options.logger }),
    ...(options.transactionIdleMs !== undefined && { transactionIdleMs: options.transactionIdleMs }),
    ...(options.maxResponseBytes !== undefined && { maxResponseBytes: options.maxResponseBytes }),
    ...(options.secretRoles && { secretRoles: options.secretRoles }),
  });
  const client = new RDSDataClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIALOCALTEST', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
    // Without throwOnRequestTimeout this SDK only logs a warning when requestTimeout passes.
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, throwOnRequestTimeout: true },
  });
  const driverFor = (secretArn: string) =>
    new DataApiDriver({
      client,
      resourceArn: localResourceArn,
      secretArn,
      database: localDatabase,
      ...(options.logger && { logger: options.logger }),
      retry: options.retry ?? virtualRetry(),
    });
  const driver = driverFor(localSecretArn);
  return {
    endpoint: server.endpoint,
    client,
    driver,
    server,
    resourceArn: localResourceArn,
    secretArn: localSecretArn,
    database: localDatabase,
    driverFor,
    async close() {
      await driver.close();
      client.destroy();
      await server.close();
    },
  };
}

/** The production retry policy on a virtual clock: the budget runs out as in real time, without real waits. */
export function virtualRetry(clock = virtualClock()): DataApiRetryOptions {
  return { now: clock.now, sleep: clock.sleep, random: clock.random };
}
