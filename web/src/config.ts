/**
 * The console's runtime settings, read from `config.json` next to index.html, so one build serves every deployment:
 * the CDK app writes the AWS values at deploy time, and the local build writes `{ "auth": { "kind": "local" } }`.
 */
export interface CognitoAuthConfig {
  readonly kind: 'cognito';
  /** The user pool's Hosted UI origin, e.g. `https://reelay-123.auth.eu-west-1.amazoncognito.com`. */
  readonly domain: string;
  /** The public app client (no secret): the browser cannot keep one. */
  readonly clientId: string;
  /** Default `openid email profile`. */
  readonly scopes?: readonly string[];
  /** Default: the console's own URL (it must be one of the client's callback URLs). */
  readonly redirectUri?: string;
}

export interface LocalAuthConfig {
  readonly kind: 'local';
  /** Optional one-click sign-in: a dev-only endpoint that answers POST `{ sub, admin }` with `{ token }`. */
  readonly devTokenUrl?: string;
}

export interface ConsoleConfig {
  /** The HTTP API's origin; empty means the console's own origin (the local stack serves both). */
  readonly apiUrl: string;
  readonly auth: CognitoAuthConfig | LocalAuthConfig;
  /** The group whose members see the Admin view (the API's ADMIN_GROUP; it checks again on every call). */
  readonly adminGroup: string;
  /** How often the library refreshes while a video is still moving, in ms. */
  readonly pollIntervalMs: number;
  /** Parts uploaded at the same time. */
  readonly uploadConcurrency: number;
}

const defaults: ConsoleConfig = { apiUrl: '', auth: { kind: 'local' }, adminGroup: 'admin', pollIntervalMs: 2_000, uploadConcurrency: 4 };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readAuth(raw: unknown): ConsoleConfig['auth'] {
  if (!isRecord(raw)) return defaults.auth;
  if (raw.kind === 'cognito') {
    if (typeof raw.domain !== 'string' || typeof raw.clientId !== 'string') {
      throw new Error('config.json: auth.kind "cognito" needs auth.domain and auth.clientId');
    }
    return {
      kind: 'cognito',
      domain: raw.domain.replace(/\/+$/, ''),
      clientId: raw.clientId,
      ...(Array.isArray(raw.scopes) && { scopes: raw.scopes.filter((scope): scope is string => typeof scope === 'string') }),
      ...(typeof raw.redirectUri === 'string' && { redirectUri: raw.redirectUri }),
    };
  }
  return { kind: 'local', ...(typeof raw.devTokenUrl === 'string' && { devTokenUrl: raw.devTokenUrl }) };
}

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('config.json', { cache: 'no-store' }).catch(() => undefined);
  // No config.json at all is the plain local setup.
  if (!response || response.status === 404) return defaults;
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const raw: unknown = await response.json();
  if (!isRecord(raw)) throw new Error('config.json must hold a JSON object');
  return {
    apiUrl: typeof raw.apiUrl === 'string' ? raw.apiUrl.replace(/\/+$/, '') : defaults.apiUrl,
    auth: readAuth(raw.auth),
    adminGroup: typeof raw.adminGroup === 'string' && raw.adminGroup !== '' ? raw.adminGroup : defaults.adminGroup,
    pollIntervalMs: positive(raw.pollIntervalMs, defaults.pollIntervalMs),
    uploadConcurrency: Math.min(8, Math.floor(positive(raw.uploadConcurrency, defaults.uploadConcurrency))),
  };
}
