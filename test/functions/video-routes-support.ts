/**
 * What the uploads and videos function suites share: a fresh database at a chosen schema version, the local S3, the
 * environment a function gets from the stack, and calls to a handler with payload-2.0 events as API Gateway builds
 * them (JWT claims included).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { latestVersion } from '../../shared/migrations/index.js';
import type { Driver } from '../../shared/db/driver.js';
import type { HttpHandler } from '../../shared/http/index.js';
import type { Env } from '../../shared/config/reader.js';
import { buildHttpEvent, lambdaContext } from '../../local/api-gateway/event.js';
import { loadRouteTable } from '../../local/api-gateway/routes.js';
import { openTestDatabase, type BackendName, type TestDatabase } from '../support/databases.js';
import { startTestS3, type TestS3 } from '../storage/local-s3.js';

export interface RouteStack {
  readonly db: TestDatabase;
  readonly s3: TestS3;
  /** What the local stack sets for a function that uses the database and the bucket. */
  readonly env: Env;
  dispose(): Promise<void>;
}

/** A fresh database migrated to `schemaVersion` (default: latest) and a fresh local S3 bucket. */
export async function openRouteStack(backend: BackendName, options: { schemaVersion?: number; env?: Env } = {}): Promise<RouteStack> {
  const db = await openTestDatabase(backend, { migratedTo: options.schemaVersion ?? latestVersion });
  const s3 = await startTestS3();
  const env: Env = {
    UPLOAD_BUCKET: s3.bucket,
    UPLOAD_PREFIX: 'uploads/',
    S3_ENDPOINT: s3.endpoint,
    AWS_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    ...options.env,
  };
  return {
    db,
    s3,
    env,
    async dispose() {
      await s3.dispose();
      await db.dispose();
    },
  };
}

export interface Caller {
  readonly sub: string;
  readonly admin?: boolean;
}

export const alice: Caller = { sub: 'alice' };
export const bob: Caller = { sub: 'bob' };
export const admin: Caller = { sub: 'root', admin: true };

export interface CallInput {
  readonly routeKey: string;
  readonly id?: string;
  /** Serialised as JSON unless it is already a string (to send malformed JSON). */
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string>>;
  /** Omit for an unauthenticated request (no authorizer context). */
  readonly as?: Caller;
  /** Extra request headers (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface CallResult {
  readonly status: number;
  // Parsed JSON answers are read field by field in the suites; `any` keeps those reads short.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly headers: Readonly<Record<string, string | number | boolean>>;
}

export async function call(handler: HttpHandler, input: CallInput): Promise<CallResult> {
  const event = buildHttpEvent({
    routeKey: input.routeKey,
    ...(input.id === undefined ? {} : { pathParameters: { id: input.id } }),
    ...(input.query === undefined ? {} : { rawQueryString: new URLSearchParams(input.query).toString() }),
    headers: { 'content-type': 'application/json', ...input.headers },
    ...(input.body === undefined ? {} : { body: typeof input.body === 'string' ? input.body : JSON.stringify(input.body) }),
    ...(input.as === undefined ? {} : { claims: { sub: input.as.sub, ...(input.as.admin ? { 'cognito:groups': '[admin]' } : {}) } }),
  });
  const result = await handler(event, lambdaContext('test'));
  return {
    status: result.statusCode ?? 200,
    body: result.body === undefined || result.body === '' ? undefined : JSON.parse(result.body),
    headers: result.headers ?? {},
  };
}

export async function countVideos(driver: Driver): Promise<number> {
  const { rows } = await driver.execute<{ count: number | bigint }>('SELECT count(*) AS count FROM videos');
  return Number(rows[0]?.count);
}

/**
 * Multipart uploads the local S3 holds open (s3rver keeps one folder per upload), or undefined when none was ever
 * started in this bucket (s3rver creates the parent folder with the first one).
 */
export async function openMultipartUploads(s3: TestS3): Promise<string[] | undefined> {
  return readdir(path.join(s3.directory, s3.bucket, '._S3rver_uploads')).catch(() => undefined);
}

/** The route keys functions/routes.json gives `functionName`, sorted. */
export function manifestRouteKeys(functionName: string): string[] {
  return loadRouteTable().routes.filter((entry) => entry.function === functionName).map((entry) => entry.route).sort();
}

/** Every route key functions/routes.json gives to other functions. */
export function otherFunctionsRouteKeys(functionName: string): string[] {
  return loadRouteTable().routes.filter((entry) => entry.function !== functionName).map((entry) => entry.route);
}
