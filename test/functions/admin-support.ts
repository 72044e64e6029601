/** Helpers for the health, admin and migrate function suites: environments, events, and seeded rows. */
import { createServer } from 'node:net';
import { build } from 'esbuild';
import { afterEach, beforeEach } from 'vitest';
import { buildHttpEvent, lambdaContext, type HttpEventInput } from '../../local/api-gateway/event.js';
import type { Executor } from '../../shared/db/driver.js';
import type { HttpLambdaHandler, JwtClaims } from '../../shared/http/index.js';
import { silentLogger } from '../../shared/log.js';
import { createMigrator } from '../../shared/migrations/engine.js';
import type { Env } from '../../shared/config/reader.js';
import { openTestDatabase, type BackendName, type TestDatabase } from '../support/databases.js';
import { startDataApi, type StartDataApiOptions, type StartedDataApi } from '../support/data-api.js';

export interface DataApiDatabase {
  readonly db: TestDatabase;
  readonly api: StartedDataApi;
}

/** A fresh database with a local Data API endpoint on it for every test of the calling suite. */
export function useDataApiDatabase(backend: BackendName, options?: StartDataApiOptions): DataApiDatabase {
  let current: DataApiDatabase | undefined;
  beforeEach(async () => {
    const db = await openTestDatabase(backend);
    current = { db, api: await startDataApi(db, options) };
  });
  afterEach(async () => {
    await current?.api.close();
    await current?.db.dispose();
    current = undefined;
  });
  const get = (): DataApiDatabase => {
    if (current === undefined) throw new Error('useDataApiDatabase: only available inside a test');
    return current;
  };
  return {
    get db() {
      return get().db;
    },
    get api() {
      return get().api;
    },
  };
}

/** The environment a function gets in AWS, pointed at the local Data API endpoint. */
export function dataApiEnv(api: StartedDataApi, extra: Env = {}): Env {
  return {
    RDS_RESOURCE_ARN: api.resourceArn,
    RDS_SECRET_ARN: api.secretArn,
    RDS_DATABASE: api.database,
    DATA_API_ENDPOINT: api.endpoint,
    AWS_REGION: 'us-east-1',
    ...extra,
  };
}

/** A loopback port nothing listens on (taken, then released): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export const userClaims: JwtClaims = { sub: 'user-1', 'cognito:groups': '[editors]' };
export const adminClaims: JwtClaims = { sub: 'admin-1', 'cognito:groups': '[admin editors]' };

// The JSON bodies are checked field by field in the suites; `any` keeps those property paths readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export async function call(handler: HttpLambdaHandler, input: HttpEventInput): Promise<{ status: number; headers: Record<string, string>; body: Json }> {
  const result = await handler(buildHttpEvent(input), lambdaContext('test'));
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]));
  return { status: result.statusCode ?? 200, headers, body: result.body ? JSON.parse(result.body) : undefined };
}

export async function migrateTo(db: TestDatabase, to: number): Promise<void> {
  await createMigrator({ driver: db.driver, logger: silentLogger }).up({ to });
}

let seeded = 0;

export interface SeedVideo {
  readonly status: string;
  /** How long ago the row was created and last updated, in minutes. */
  readonly createdMinutesAgo?: number;
  readonly updatedMinutesAgo?: number;
  readonly ownerId?: string;
  /** Extra columns (a migrated schema), e.g. `{ mux_error: 'boom' }`. */
  readonly columns?: Readonly<Record<string, string | number | null>>;
}

/** Inserts a video row directly (any status, any age) and returns its id. */
export async function seedVideo(executor: Executor, video: SeedVideo): Promise<string> {
  seeded += 1;
  const extra = Object.entries(video.columns ?? {});
  const names = ['owner_id', 'title', 'original_filename', 'content_type', 'size_bytes', 's3_key', 'status', ...extra.map(([name]) => name)];
  const values = [':ownerId', ':title', `'clip.mp4'`, `'video/mp4'`, '1024', ':s3Key', ':status', ...extra.map((_, index) => `:extra${index}`)];
  const params: Record<string, string | number | null> = {
    ownerId: video.ownerId ?? 'user-1',
    title: `seeded ${seeded}`,
    s3Key: `uploads/seed-${process.pid}-${Date.now()}-${seeded}.mp4`,
    status: video.status,
    createdAgo: video.createdMinutesAgo ?? 0,
    updatedAgo: video.updatedMinutesAgo ?? video.createdMinutesAgo ?? 0,
  };
  extra.forEach(([, value], index) => (params[`extra${index}`] = value));
  const { rows } = await executor.execute<{ id: string }>(
    `INSERT INTO videos (${names.join(', ')}, created_at, updated_at)
     VALUES (${values.join(', ')},
             (now() AT TIME ZONE 'UTC') - make_interval(mins => CAST(:createdAgo AS integer)),
             (now() AT TIME ZONE 'UTC') - make_interval(mins => CAST(:updatedAgo AS integer)))
     RETURNING id`,
    params,
  );
  return (rows[0] as { id: string }).id;
}

function bundleMetafile(entry: string, minify: boolean) {
  return build({
    entryPoints: [entry],
    bundle: true,
    minify,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: ['pg-native'],
  }).then((result) => result.metafile);
}

const packageOf = (input: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];

/** Every npm package the bundle of `entry` reads (including what tree-shaking then drops). */
export async function bundledPackages(entry: string): Promise<Set<string>> {
  const metafile = await bundleMetafile(entry, false);
  return new Set(Object.keys(metafile.inputs).flatMap((input) => packageOf(input) ?? []));
}

/** The npm packages that contribute code to the minified bundle of `entry` (tree-shaken ones are not counted). */
export async function packagesInBundle(entry: string): Promise<Set<string>> {
  const metafile = await bundleMetafile(entry, true);
  return new Set(
    Object.values(metafile.outputs).flatMap((output) =>
      Object.entries(output.inputs).flatMap(([input, { bytesInOutput }]) => (bytesInOutput > 0 ? (packageOf(input) ?? []) : [])),
    ),
  );
}
