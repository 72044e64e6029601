/**
 * Everything a deployment can vary, read from CDK context (`-c key=value` or cdk.json) into one typed object.
 * CLI context arrives as strings and cdk.json context as JSON, so every reader accepts both.
 * Stages: `dev` is cheap and disposable (destroyed with the stack), `prod` is protected (retained, deletion
 * protection, longer backups, longer logs).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { contextError, readBoolean, readList, readNumber, readString, type ContextReader } from './context.js';
import { readEvents, type EventsConfig } from './events-config.js';
import { readMonitoring, type MonitoringConfig } from './monitoring-config.js';

export type { EventsConfig, EventsWebhookConfig } from './events-config.js';
export type { MonitoringConfig } from './monitoring-config.js';

export const stages = ['dev', 'prod'] as const;
export type Stage = (typeof stages)[number];

export type AuthConfig =
  | { readonly kind: 'cognito' }
  | { readonly kind: 'external'; readonly issuer: string; readonly audience: readonly string[] };

/**
 * How the web console's users sign in: through a Hosted UI domain the stack adds to its own user pool, or through an
 * external Cognito-compatible IdP (the console speaks Cognito's `/oauth2/authorize`, `/oauth2/token` and `/logout`)
 * whose app client is one of the JWT authorizer's audiences.
 */
export type ConsoleSignIn =
  | {
      readonly kind: 'stack-user-pool';
      /** Hosted UI domain prefix; undefined means `<stack name>-<account id>` (prefixes are unique per region). */
      readonly domainPrefix: string | undefined;
    }
  | {
      readonly kind: 'external';
      /** The IdP's base URL without a trailing slash, e.g. `https://login.example.com`. */
      readonly domain: string;
      /** A public app client of that IdP, one of the jwtAudience values. */
      readonly clientId: string;
    };

export interface ConsoleConfig {
  readonly signIn: ConsoleSignIn;
}

export interface DatabaseConfig {
  /** Aurora capacity units; 0 lets the writer pause when idle. */
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** Idle time before a 0-ACU writer pauses (300 s … 24 h). */
  readonly autoPause: Duration;
  readonly backupRetention: Duration;
}

/**
 * OAuth scopes the API requires: a route key of functions/routes.json (`"POST /api/videos/upload"`) or an auth level
 * (`user`, `admin`: every route of that level) → scopes, of which a token must carry at least one (API Gateway's
 * authorizationScopes). A route key's entry replaces its level's. Route keys are checked against the manifest when
 * the API is built (ReelayHttpApi).
 */
export type RouteScopes = Readonly<Record<string, readonly string[]>>;

export interface ReelayConfig {
  readonly stage: Stage;
  /** Browser origins allowed by the bucket's and the API's CORS rules; empty means no CORS at all. */
  readonly corsOrigins: readonly string[];
  readonly auth: AuthConfig;
  /** The group whose members may use the admin routes (the functions' ADMIN_GROUP; the user pool's group). */
  readonly adminGroup: string;
  readonly routeScopes: RouteScopes;
  /** Subscribed to the alarm topic; no topic when absent. */
  readonly alarmEmail: string | undefined;
  /** Alarms and dashboard, per stage (infra/monitoring-config.ts says why dev has neither by default). */
  readonly monitoring: MonitoringConfig;
  /** An existing Secrets Manager secret holding `{tokenId, tokenSecret, webhookSecret}`; else the stack creates one. */
  readonly muxSecretArn: string | undefined;
  /**
   * MUX_PLAYBACK_POLICY of the functions: `signed` makes ingest ask for signed playback ids and the videos function
   * mint their tokens with the URL signing key in the Mux secret (which it may then read). Token lifetime in seconds;
   * undefined leaves the functions' default (an hour).
   */
  readonly muxPlayback: { readonly policy: 'public' | 'signed'; readonly tokenTtlSeconds: number | undefined };
  readonly database: DatabaseConfig;
  readonly logRetention: RetentionDays;
  readonly apiThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Per-function reserved concurrency, e.g. `{"ingest": 5}`; unset functions share the account pool. */
  readonly reservedConcurrency: Readonly<Record<string, number>>;
  /** Upload bucket server access logs (cdk-nag S1); on by default, a second bucket. */
  readonly bucketAccessLogs: boolean;
  /** The web console as a static site (S3 + CloudFront) with Hosted UI sign-in; undefined = not deployed. */
  readonly console: ConsoleConfig | undefined;
  readonly events: EventsConfig;
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
}

/** The context keys this app reads (documented in docs/DEPLOY.md). */
export const contextKeys = [
  'stage',
  'corsOrigins',
  'jwtIssuer',
  'jwtAudience',
  'adminGroup',
  'routeScopes',
  'alarmEmail',
  'alarms',
  'dashboard',
  'muxSecretArn',
  'muxPlaybackPolicy',
  'playbackTokenTtlSeconds',
  'dbMinCapacity',
  'dbMaxCapacity',
  'dbAutoPauseMinutes',
  'dbBackupDays',
  'logRetentionDays',
  'apiRateLimit',
  'apiBurstLimit',
  'reservedConcurrency',
  'bucketAccessLogs',
  'console',
  'consoleDomainPrefix',
  'consoleAuthDomain',
  'consoleClientId',
  'eventBusName',
  'eventsArchive',
  'eventsArchiveDays',
  'eventsWebhookUrl',
  'eventsWebhookSecretArn',
] as const;
export type ContextKey = (typeof contextKeys)[number];

interface StageDefaults {
  readonly corsOrigins: readonly string[];
  readonly dbMaxCapacity: number;
  readonly dbAutoPauseMinutes: number;
  readonly dbBackupDays: number;
  readonly logRetentionDays: number;
  readonly apiRateLimit: number;
  readonly apiBurstLimit: number;
  readonly eventsArchiveDays: number;
}

const stageDefaults: Record<Stage, StageDefaults> = {
  // The local web console runs on port 3000; dev deployments are tried from a laptop.
  dev: {
    corsOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
    dbMaxCapacity: 2,
    dbAutoPauseMinutes: 5,
    dbBackupDays: 1,
    logRetentionDays: 30,
    apiRateLimit: 20,
    apiBurstLimit: 40,
    // Long enough to replay a week of events to a consumer being developed; dev data is disposable.
    eventsArchiveDays: 7,
  },
  // Production origins must be named explicitly; a longer pause delay avoids resume latency in working hours.
  prod: {
    corsOrigins: [],
    dbMaxCapacity: 16,
    dbAutoPauseMinutes: 60,
    dbBackupDays: 14,
    logRetentionDays: 90,
    apiRateLimit: 200,
    apiBurstLimit: 400,
    // A quarter: time to notice a consumer's bug and replay what it mishandled. Not forever: the events carry the
    // owner's id and the video's title and description, which an archive should not keep past their use.
    eventsArchiveDays: 90,
  },
};

function readReservedConcurrency(read: ContextReader): Record<string, number> {
  const value = read('reservedConcurrency');
  if (value === undefined || value === null || value === '') return {};
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw contextError('reservedConcurrency', 'a JSON object of function name to number', value);
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  for (const [name, count] of entries) {
    if (!Number.isInteger(count) || (count as number) < 0) throw contextError('reservedConcurrency', `a whole number for ${name}`, count);
  }
  return Object.fromEntries(entries) as Record<string, number>;
}

/**
 * Origins exactly as browsers send them (`https://host[:port]`, no path, no trailing slash, which would never match),
 * and `*` only on its own and never in prod: an API whose tokens sit in browsers must not answer every web page.
 * Plain-HTTP origins are refused in prod too: a page served over HTTP can be rewritten in transit to drive the API
 * with its users' tokens. Patterns such as `https://*.example.com` are refused: the same list feeds API Gateway's and
 * S3's CORS rules, and only exact origins mean the same to both.
 */
function readCorsOrigins(read: ContextReader, stage: Stage): readonly string[] | undefined {
  const origins = readList(read, 'corsOrigins');
  if (origins === undefined) return undefined;
  if (origins.includes('*')) {
    if (stage === 'prod') {
      throw new Error('context "corsOrigins" may not be * on the prod stage: name the origins of your web app (e.g. -c corsOrigins=https://video.example.com)');
    }
    if (origins.length > 1) throw contextError('corsOrigins', '* alone (every origin) or a list of origins, not both', origins.join(','));
    return origins;
  }
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin || origin.includes('*')) {
      const hint = parsed && parsed.origin !== 'null' && !origin.includes('*') ? ` (did you mean ${parsed.origin}?)` : '';
      throw contextError('corsOrigins', `origins such as https://video.example.com (scheme, host and port only)${hint}`, origin);
    }
    if (stage === 'prod' && parsed.protocol !== 'https:') {
      throw new Error(`context "corsOrigins" may not hold the plain-HTTP origin ${origin} on the prod stage: serve the web app over https, or use a dev stage`);
    }
  }
  return origins;
}

/** Cognito's GroupName pattern (CreateGroup, API reference), the same rule the functions apply to ADMIN_GROUP. */
const groupNamePattern = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;

function readAdminGroup(read: ContextReader): string {
  const group = readString(read, 'adminGroup') ?? 'admin';
  if (!groupNamePattern.test(group)) throw contextError('adminGroup', 'a group name of 1–128 characters without spaces or control characters', group);
  return group;
}

/** RFC 6749's scope-token: printable ASCII without space, `"` or `\\`. */
const scopeTokenPattern = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const routeKeyPattern = /^[A-Z]+ \/\S*$/;

function readRouteScopes(read: ContextReader): RouteScopes {
  const value = read('routeScopes');
  if (value === undefined || value === null || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw contextError('routeScopes', 'JSON such as \'{"POST /api/videos/upload":["reelay/upload"]}\'', value);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw contextError('routeScopes', 'a JSON object of route key (or user, admin) to a list of scopes', value);
  }
  for (const [key, scopes] of Object.entries(parsed)) {
    if (key !== 'user' && key !== 'admin' && !routeKeyPattern.test(key)) {
      throw contextError('routeScopes', `keys that are route keys such as "POST /api/videos/upload" or the levels user and admin, not "${key}"`, value);
    }
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((scope) => typeof scope === 'string' && scopeTokenPattern.test(scope))) {
      throw contextError('routeScopes', `one or more scopes (no spaces or quotes) for "${key}"`, scopes);
    }
  }
  return parsed as RouteScopes;
}

function readAuth(read: ContextReader): AuthConfig {
  const issuer = readString(read, 'jwtIssuer');
  const audience = readList(read, 'jwtAudience') ?? [];
  if (issuer === undefined && audience.length === 0) return { kind: 'cognito' };
  if (issuer === undefined || audience.length === 0) {
    throw new Error('context "jwtIssuer" and "jwtAudience" go together: give both for an external issuer, or neither for Cognito');
  }
  if (!issuer.startsWith('https://')) throw contextError('jwtIssuer', 'an https:// issuer URL', issuer);
  return { kind: 'external', issuer, audience };
}

/** Cognito's rules for a prefix domain: lower-case letters, digits and inner hyphens, and no reserved words. */
const domainPrefixPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const reservedDomainWords = /aws|amazon|cognito/;

function readConsole(read: ContextReader, auth: AuthConfig): ConsoleConfig | undefined {
  if (!readBoolean(read, 'console', false)) return undefined;
  const domainPrefix = readString(read, 'consoleDomainPrefix');
  const authDomain = readString(read, 'consoleAuthDomain');
  const clientId = readString(read, 'consoleClientId');
  if (auth.kind === 'cognito') {
    if (authDomain !== undefined || clientId !== undefined) {
      throw new Error('context "consoleAuthDomain" and "consoleClientId" are for an external issuer (jwtIssuer); the console signs in through the stack\'s user pool otherwise');
    }
    if (domainPrefix !== undefined && (!domainPrefixPattern.test(domainPrefix) || reservedDomainWords.test(domainPrefix))) {
      throw contextError('consoleDomainPrefix', 'lower-case letters, digits and hyphens (at most 63, not containing aws, amazon or cognito)', domainPrefix);
    }
    return { signIn: { kind: 'stack-user-pool', domainPrefix } };
  }
  if (domainPrefix !== undefined) {
    throw new Error('context "consoleDomainPrefix" names a Hosted UI domain of the stack\'s user pool, which an external issuer (jwtIssuer) replaces; give consoleAuthDomain and consoleClientId instead');
  }
  if (authDomain === undefined || clientId === undefined) {
    throw new Error(
      'the console with an external issuer (jwtIssuer) needs that IdP\'s sign-in settings: -c consoleAuthDomain=https://… (its Hosted UI base URL) and -c consoleClientId=… (a public app client)',
    );
  }
  if (!/^https:\/\/[^/?#\s]+$/.test(authDomain.replace(/\/+$/, ''))) throw contextError('consoleAuthDomain', 'an https:// origin such as https://login.example.com', authDomain);
  // The console sends that client's access tokens, which carry it as `client_id`; the authorizer must accept it.
  if (!auth.audience.includes(clientId)) throw contextError('consoleClientId', `one of the jwtAudience values (${auth.audience.join(', ')})`, clientId);
  return { signIn: { kind: 'external', domain: authDomain.replace(/\/+$/, ''), clientId } };
}

/** Maps a day count to the closest CloudWatch Logs retention at or above it (the API accepts only fixed values). */
function retentionAtLeast(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays)
    .filter((value): value is RetentionDays => typeof value === 'number' && value > 0)
    .sort((a, b) => a - b);
  return allowed.find((value) => value >= days) ?? RetentionDays.INFINITE;
}

function readMuxPlayback(read: ContextReader): ReelayConfig['muxPlayback'] {
  const policy = readString(read, 'muxPlaybackPolicy') ?? 'public';
  if (policy !== 'public' && policy !== 'signed') throw contextError('muxPlaybackPolicy', 'public or signed', policy);
  const ttl = read('playbackTokenTtlSeconds');
  // A week at most: a token is a bearer credential to the video for its whole life.
  const tokenTtlSeconds = ttl === undefined || ttl === null || ttl === '' ? undefined : readNumber(read, 'playbackTokenTtlSeconds', 3600, 60, 7 * 24 * 3600);
  if (tokenTtlSeconds !== undefined && !Number.isInteger(tokenTtlSeconds)) throw contextError('playbackTokenTtlSeconds', 'whole seconds', ttl);
  return { policy, tokenTtlSeconds };
}

export function readConfigFrom(read: ContextReader): ReelayConfig {
  const stageValue = read('stage') ?? 'dev';
  if (typeof stageValue !== 'string' || !(stages as readonly string[]).includes(stageValue)) {
    throw contextError('stage', stages.join(' or '), stageValue);
  }
  const stage = stageValue as Stage;
  const defaults = stageDefaults[stage];
  const minCapacity = readNumber(read, 'dbMinCapacity', 0, 0, 256);
  const maxCapacity = readNumber(read, 'dbMaxCapacity', defaults.dbMaxCapacity, Math.max(1, minCapacity), 256);
  const auth = readAuth(read);
  const alarmEmail = readString(read, 'alarmEmail');
  return {
    stage,
    corsOrigins: readCorsOrigins(read, stage) ?? defaults.corsOrigins,
    auth,
    adminGroup: readAdminGroup(read),
    routeScopes: readRouteScopes(read),
    alarmEmail,
    monitoring: readMonitoring(read, stage, alarmEmail),
    muxSecretArn: readString(read, 'muxSecretArn'),
    muxPlayback: readMuxPlayback(read),
    database: {
      minCapacity,
      maxCapacity,
      autoPause: Duration.minutes(readNumber(read, 'dbAutoPauseMinutes', defaults.dbAutoPauseMinutes, 5, 24 * 60)),
      backupRetention: Duration.days(readNumber(read, 'dbBackupDays', defaults.dbBackupDays, 1, 35)),
    },
    logRetention: retentionAtLeast(readNumber(read, 'logRetentionDays', defaults.logRetentionDays, 1, 3653)),
    apiThrottle: {
      rateLimit: readNumber(read, 'apiRateLimit', defaults.apiRateLimit, 1, 10_000),
      burstLimit: readNumber(read, 'apiBurstLimit', defaults.apiBurstLimit, 1, 5_000),
    },
    reservedConcurrency: readReservedConcurrency(read),
    bucketAccessLogs: readBoolean(read, 'bucketAccessLogs', true),
    console: readConsole(read, auth),
    events: readEvents(read, stageDefaults[stage].eventsArchiveDays),
    removalPolicy: stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    deletionProtection: stage === 'prod',
  };
}

export function readConfig(node: Node): ReelayConfig {
  return readConfigFrom((key) => node.tryGetContext(key) as unknown);
}
