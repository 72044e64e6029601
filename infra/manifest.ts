/**
 * functions/routes.json, read as data at synth time. infra/ never imports runtime code from functions/ or shared/:
 * the manifest is the only contract, and the local API emulator reads the same file, so the two cannot drift.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const manifestPath = resolve(repositoryRoot, 'functions/routes.json');

export const routeAuthLevels = ['none', 'user', 'admin'] as const;
export type RouteAuth = (typeof routeAuthLevels)[number];

export const functionTriggers = ['http', 'sqs', 'schedule', 'invoke'] as const;
export type FunctionTrigger = (typeof functionTriggers)[number];

/**
 * What a function may touch; each capability maps to exactly one grant in `Functions`. `bucket-read` is the part of
 * `bucket` a function needs to hand out links to files reelay stored itself (captions), and nothing that writes.
 * `bucket-delete` deletes a video's objects under the upload prefix (DELETE /api/videos/{id}, and the ingest and
 * reconcile work that finishes a deletion).
 * `mux-binding` is the asset binding key, for the functions that create, adopt or bind Mux assets (not admin).
 * `mux-playback` is for a function that shows playback URLs without calling Mux: the tokens' lifetime and, with the
 * signed policy, reading the Mux secret, for the URL signing key that mints the tokens.
 * The database capabilities name the role a function logs in as (migration 0004): `database` the application role
 * (DML on reelay's tables), `database-read` the read-only role, `database-migrations` the master user (DDL, the
 * migration ledger); a function has at most one of them. `database-roles` (with `database-migrations`) reads the
 * roles' secrets to give the roles their passwords at deploy time. `events`: the function publishes lifecycle
 * events (issue J): `events:PutEvents` on the bus, and EVENT_BUS_NAME. `ingest-dead-letters`: draining the ingest
 * DLQ (issue N): receiving and deleting there, sending back to the ingest queue (INGEST_DLQ_URL, INGEST_QUEUE_URL).
 */
export const capabilities = [
  'database', 'database-read', 'database-migrations', 'database-roles', 'bucket', 'bucket-read', 'bucket-delete', 'mux', 'mux-binding', 'mux-playback',
  'pending-work', 'pending-work-sweep', 'events', 'ingest-dead-letters',
] as const;
export type Capability = (typeof capabilities)[number];

export const databaseAccessLevels = ['database', 'database-read', 'database-migrations'] as const;
export type DatabaseAccess = (typeof databaseAccessLevels)[number];

/** The database role a function logs in as, from its `uses`; undefined for a function without database access. */
export function databaseAccessOf(spec: Pick<FunctionSpec, 'uses'>): DatabaseAccess | undefined {
  return databaseAccessLevels.find((level) => spec.uses.includes(level));
}

export const httpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethodName = (typeof httpMethods)[number];

export interface RouteThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface RouteSpec {
  readonly method: HttpMethodName;
  readonly path: string;
  /** "METHOD /path", as API Gateway writes route keys. */
  readonly routeKey: string;
  readonly functionName: string;
  readonly auth: RouteAuth;
  /** A route-level throttle below the stage's (API Gateway RouteSettings); undefined: the stage's applies. */
  readonly throttle?: RouteThrottle;
}

export interface FunctionSpec {
  readonly name: string;
  /** Absolute path of the handler module (exports `handler`). */
  readonly entry: string;
  /** Path relative to the repository root, as written in the manifest. */
  readonly relativeEntry: string;
  readonly trigger: FunctionTrigger;
  readonly uses: readonly Capability[];
}

export interface FunctionManifest {
  readonly routes: readonly RouteSpec[];
  readonly functions: readonly FunctionSpec[];
}

function fail(message: string): never {
  throw new Error(`${manifestPath}: ${message}`);
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown, what: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  return fail(`${what} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  return fail(`${what} must be an object`);
}

function parseFunction(name: string, raw: unknown): FunctionSpec {
  const entry = asRecord(raw, `functions.${name}`);
  if (!/^[a-z][a-z0-9-]*$/.test(name)) fail(`function name "${name}" must be kebab-case`);
  if (typeof entry.entry !== 'string' || !entry.entry.endsWith('.ts')) fail(`functions.${name}.entry must be a .ts path`);
  if (!Array.isArray(entry.uses)) fail(`functions.${name}.uses must be an array`);
  const uses = entry.uses.map((use: unknown) => oneOf(capabilities, use, `functions.${name}.uses[]`));
  if (new Set(uses).size !== uses.length) fail(`functions.${name}.uses lists a capability twice`);
  if (uses.includes('bucket') && uses.includes('bucket-read')) fail(`functions.${name}.uses: "bucket" already includes "bucket-read"`);
  // The binding key is read through the same extension layer, which only Mux users get.
  if (uses.includes('mux-binding') && !uses.includes('mux')) fail(`functions.${name}.uses: "mux-binding" needs "mux"`);
  if (uses.filter((use) => (databaseAccessLevels as readonly string[]).includes(use)).length > 1) {
    fail(`functions.${name}.uses: a function logs in as one database role (one of ${databaseAccessLevels.join(', ')})`);
  }
  if (uses.includes('database-roles') && !uses.includes('database-migrations')) {
    fail(`functions.${name}.uses: "database-roles" sets the roles' passwords as the master user, so it needs "database-migrations"`);
  }
  return {
    name,
    entry: resolve(repositoryRoot, entry.entry),
    relativeEntry: entry.entry,
    trigger: oneOf(functionTriggers, entry.trigger, `functions.${name}.trigger`),
    uses,
  };
}

function parseRoute(raw: unknown, index: number, functionNames: ReadonlySet<string>): RouteSpec {
  const route = asRecord(raw, `routes[${index}]`);
  const match = typeof route.route === 'string' ? /^([A-Z]+) (\/\S*)$/.exec(route.route) : null;
  if (!match) return fail(`routes[${index}].route must look like "GET /path"`);
  const method = oneOf(httpMethods, match[1], `routes[${index}] method`);
  const path = match[2] as string;
  if (typeof route.function !== 'string' || !functionNames.has(route.function)) {
    fail(`routes[${index}].function ${JSON.stringify(route.function)} is not declared under "functions"`);
  }
  const throttle = route.throttle === undefined ? undefined : parseThrottle(route.throttle, `routes[${index}].throttle`);
  return {
    method,
    path,
    routeKey: `${method} ${path}`,
    functionName: route.function,
    auth: oneOf(routeAuthLevels, route.auth, `routes[${index}].auth`),
    ...(throttle && { throttle }),
  };
}

function parseThrottle(raw: unknown, what: string): RouteThrottle {
  const throttle = asRecord(raw, what);
  const positive = (value: unknown, key: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(`${what}.${key} must be a positive number`);
    return value;
  };
  return { rateLimit: positive(throttle.rateLimit, 'rateLimit'), burstLimit: Math.floor(positive(throttle.burstLimit, 'burstLimit')) };
}

export function parseManifest(raw: unknown): FunctionManifest {
  const document = asRecord(raw, 'the manifest');
  const functions = Object.entries(asRecord(document.functions, 'functions')).map(([name, spec]) => parseFunction(name, spec));
  const names = new Set(functions.map((fn) => fn.name));
  if (!Array.isArray(document.routes)) fail('routes must be an array');
  const routes = document.routes.map((route: unknown, index: number) => parseRoute(route, index, names));
  const seen = new Set<string>();
  for (const route of routes) {
    if (seen.has(route.routeKey)) fail(`route ${route.routeKey} is declared twice`);
    seen.add(route.routeKey);
  }
  for (const fn of functions) {
    const routed = routes.some((route) => route.functionName === fn.name);
    if (routed !== (fn.trigger === 'http')) {
      fail(`function ${fn.name} has trigger "${fn.trigger}" but ${routed ? 'has' : 'has no'} HTTP routes`);
    }
  }
  return { routes, functions };
}

export function loadManifest(path: string = manifestPath): FunctionManifest {
  return parseManifest(JSON.parse(readFileSync(path, 'utf8')) as unknown);
}
