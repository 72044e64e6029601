/**
 * Calling the real function handlers the way API Gateway does (payload 2.0 events, a Lambda context), with the
 * environment AWS would give them except that the Data API endpoint is the local one: the same code path as in
 * AWS, every database call crossing real HTTP to an endpoint that counts them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpEvent, JwtClaims, LambdaContext } from '../../shared/http/types.js';
import { startLocalDataApi, type LocalDataApi } from '../../local/data-api/server.js';
import { buildHttpEvent, lambdaContext } from '../../local/api-gateway/event.js';
import { localS3Credentials, startLocalS3, type LocalS3 } from '../../local/s3/server.js';
import type { Env } from '../../shared/config/reader.js';
import { silentLogger } from '../../shared/log.js';
import type { BenchDatabase } from './databases.js';

export type HttpFunction = (event: HttpEvent, context: LambdaContext) => Promise<unknown>;

export interface HttpResult {
  readonly statusCode: number;
  readonly body: string;
  readonly json: unknown;
}

export interface HttpCall {
  readonly routeKey: string;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly sub?: string;
  readonly json?: unknown;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** What the API Gateway JWT authorizer passes for a signed-in user (no groups: not an admin). */
export function userClaims(sub: string): JwtClaims {
  return { sub, iss: 'https://auth.reelay.invalid/bench', aud: 'reelay-bench', token_use: 'access' };
}

export async function invokeHttp(fn: HttpFunction, name: string, call: HttpCall): Promise<HttpResult> {
  const body = call.json !== undefined ? JSON.stringify(call.json) : call.body;
  const event = buildHttpEvent({
    routeKey: call.routeKey,
    ...(call.pathParameters ? { pathParameters: call.pathParameters } : {}),
    ...(call.query ? { rawQueryString: new URLSearchParams(call.query).toString() } : {}),
    headers: { 'content-type': 'application/json', ...call.headers },
    ...(body !== undefined ? { body } : {}),
    ...(call.sub !== undefined ? { claims: userClaims(call.sub) } : {}),
  });
  const result = (await fn(event, lambdaContext(name))) as { statusCode?: number; body?: string };
  const text = result.body ?? '';
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { statusCode: result.statusCode ?? 200, body: text, json };
}

export async function expectStatus(result: Promise<HttpResult>, status: number, what: string): Promise<HttpResult> {
  const settled = await result;
  if (settled.statusCode !== status) throw new Error(`${what}: expected HTTP ${status}, got ${settled.statusCode}: ${settled.body.slice(0, 500)}`);
  return settled;
}

export interface BenchDataApi {
  readonly server: LocalDataApi;
  /** The Data API part of a function's environment (as CDK sets it, plus DATA_API_ENDPOINT). */
  readonly env: Env;
  close(): Promise<void>;
}

export async function startBenchDataApi(database: BenchDatabase): Promise<BenchDataApi> {
  const server = await startLocalDataApi({ backend: database.connection, logger: silentLogger });
  return {
    server,
    env: {
      RDS_RESOURCE_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:reelay-bench',
      RDS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:reelay-bench-AbCdEf',
      RDS_DATABASE: 'reelay',
      DATA_API_ENDPOINT: server.endpoint,
      AWS_REGION: 'us-east-1',
      LOG_LEVEL: 'error',
    },
    close: () => server.close(),
  };
}

interface FunctionModule {
  createHandler(env: Env, options?: { logger?: typeof silentLogger }): Promise<unknown>;
}

/** A function's `createHandler(env)` from functions/<name>/handler.ts, with logs silenced. */
export async function createFunction(name: string, env: Env): Promise<HttpFunction> {
  const module = (await import(`../../functions/${name}/handler.js`)) as FunctionModule;
  return (await module.createHandler(env, { logger: silentLogger })) as HttpFunction;
}

export interface BenchS3 {
  readonly s3: LocalS3;
  /** The upload-bucket part of a function's environment, pointing at the local S3. */
  readonly env: Env;
  /** Stops the server and deletes everything it stored. */
  close(): Promise<void>;
}

export async function startBenchS3(options: { minPartBytes?: number } = {}): Promise<BenchS3> {
  const directory = await mkdtemp(join(tmpdir(), 'reelay-bench-s3-'));
  const bucket = 'reelay-bench-uploads';
  const s3 = await startLocalS3({ directory, bucket, logger: silentLogger, ...(options.minPartBytes ? { minPartBytes: options.minPartBytes } : {}) });
  return {
    s3,
    env: {
      UPLOAD_BUCKET: bucket,
      UPLOAD_PREFIX: 'uploads/',
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: localS3Credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localS3Credentials.secretAccessKey,
    },
    async close() {
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
