/**
 * The database roles' credentials, for the migrate function: DATABASE_ROLE_SECRET_ARNS names one Secrets Manager
 * secret per role (comma-separated; `{username, password}` as RDS generates them), read through the AWS Parameters
 * and Secrets Lambda Extension like the Mux secret (shared/mux/config.ts): no Secrets Manager SDK in the bundle, no
 * password in the environment. Read during an invocation only (the extension does not answer during INIT).
 */
import { MigrationError } from '../errors.js';
import type { RoleCredentials } from '../db/roles.js';
import { readList, readString, type Env } from '../config/reader.js';

export interface RoleSecretOptions {
  /** The extension's origin. Default `http://localhost:${PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? 2773}`. */
  readonly secretsExtensionUrl?: string;
  readonly fetch?: typeof fetch;
  /** Per-request timeout. Default 5 s. */
  readonly timeoutMs?: number;
}

/** What the migrate function's environment says about the role secrets. */
export interface RoleSecretSettings {
  /** The ARNs DATABASE_ROLE_SECRET_ARNS lists; empty when unset (locally, where no role logs in with a password). */
  readonly arns: readonly string[];
  /** AWS_SESSION_TOKEN, which the extension asks for. */
  readonly sessionToken: string | null;
  /** PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, default 2773. */
  readonly extensionPort: string;
}

export function roleSecretSettingsFromEnv(env: Env): RoleSecretSettings {
  return {
    arns: readList(env, 'DATABASE_ROLE_SECRET_ARNS') ?? [],
    sessionToken: readString(env, 'AWS_SESSION_TOKEN') ?? null,
    extensionPort: readString(env, 'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT') ?? '2773',
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads one role secret. Errors name the secret and the problem, never a value. */
export async function readRoleSecret(secretId: string, settings: RoleSecretSettings, options: RoleSecretOptions = {}): Promise<RoleCredentials> {
  const { sessionToken } = settings;
  if (!sessionToken) throw new MigrationError('DATABASE_ROLE_SECRET_ARNS is set but AWS_SESSION_TOKEN is not (not in Lambda?)');
  const origin = options.secretsExtensionUrl ?? `http://localhost:${settings.extensionPort}`;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(`${origin}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`, {
      headers: { 'X-Aws-Parameters-Secrets-Token': sessionToken },
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
  } catch (error) {
    throw new MigrationError(`the Parameters and Secrets extension could not be reached for ${secretId}`, { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new MigrationError(`the Parameters and Secrets extension answered ${response.status} for ${secretId}`);
  }
  const envelope: unknown = await response.json().catch(() => null);
  let secret: unknown;
  try {
    secret = isRecord(envelope) && typeof envelope.SecretString === 'string' ? JSON.parse(envelope.SecretString) : undefined;
  } catch {
    secret = undefined;
  }
  if (!isRecord(secret) || typeof secret.username !== 'string' || typeof secret.password !== 'string' || secret.password === '') {
    throw new MigrationError(`the secret ${secretId} is not JSON with a username and a password`);
  }
  return { username: secret.username, password: secret.password };
}
