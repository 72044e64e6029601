/**
 * Where Mux credentials and options come from.
 *
 * - Locally and in tests: MUX_TOKEN_ID, MUX_TOKEN_SECRET, MUX_WEBHOOK_SECRET, MUX_BINDING_KEY, and MUX_BASE_URL for
 *   the emulator.
 * - In AWS: MUX_SECRET_ARN names a Secrets Manager secret `{ "tokenId", "tokenSecret", "webhookSecret" }` and
 *   MUX_BINDING_KEY_SECRET_ARN a generated secret holding the asset binding key (shared/mux/binding.ts), both read at
 *   first use through the AWS Parameters and Secrets Lambda Extension
 *   (`GET http://localhost:2773/secretsmanager/get?secretId=…`, header `X-Aws-Parameters-Secrets-Token` =
 *   AWS_SESSION_TOKEN). That keeps the Secrets Manager SDK out of the bundle and the secrets out of the function's
 *   environment (visible to anyone with lambda:GetFunctionConfiguration). The extension answers only during INVOKE,
 *   not INIT, which is why nothing is read at import time.
 *
 * The binding key is kept apart from the Mux credentials on purpose: operators replace the Mux secret whenever they
 * rotate a Mux token (docs/DEPLOY.md), and a key that changed with it would orphan every asset whose id is not stored
 * yet (its tag would no longer verify).
 *
 * This module never imports the Mux SDK: the health function reads `configured` without paying for it.
 */
import { ConfigurationError, readDuration, readEnum, readHttpUrl, readString, type Env } from '../config/reader.js';
import type { MuxPlaybackPolicy } from './assets.js';
import { defaultMuxUrlHosts, type MuxUrlHosts } from './urls.js';

/**
 * Mux is missing or misconfigured where it is used: no credentials, a secret that cannot be read or parsed, no
 * binding or webhook key. A server fault. (A malformed MUX_* variable is a plain {@link ConfigurationError}, thrown
 * when the function's environment is parsed.)
 */
export class MuxConfigurationError extends ConfigurationError {
  override readonly code = 'mux_config_invalid';
}

export type MuxVideoQuality = 'basic' | 'plus' | 'premium';

export interface MuxCredentials {
  readonly tokenId: string;
  readonly tokenSecret: string;
  /** Null when none is configured: webhooks then cannot be verified (and are refused). */
  readonly webhookSecret: string | null;
}

export type MuxCredentialSource = 'env' | 'secrets-manager' | 'none';

export interface MuxConfig extends MuxUrlHosts {
  /** True when credentials are available (env) or promised (a secret ARN); says nothing about their value. */
  readonly configured: boolean;
  readonly credentialSource: MuxCredentialSource;
  /** Where the asset binding key comes from; `none` means ingest refuses to create assets. */
  readonly bindingKeySource: MuxCredentialSource;
  /** The API origin when overridden (the emulator); null for api.mux.com. */
  readonly baseUrl: string | null;
  readonly playbackPolicy: MuxPlaybackPolicy;
  readonly videoQuality: MuxVideoQuality | null;
  /** Reads the credentials (from the extension at most once per TTL). Throws MuxConfigurationError if unavailable. */
  loadCredentials(): Promise<MuxCredentials>;
  /**
   * Reads the asset binding key (shared/mux/binding.ts); null when none is configured. Throws MuxConfigurationError
   * when its secret cannot be read or is too short.
   */
  loadBindingKey(): Promise<string | null>;
}

/** What diagnostics may show: no secrets, no ARNs' contents. */
export function describeMuxConfig(config: MuxConfig): Record<string, unknown> {
  return {
    configured: config.configured,
    credentialSource: config.credentialSource,
    bindingKeySource: config.bindingKeySource,
    emulator: config.baseUrl !== null,
    playbackPolicy: config.playbackPolicy,
    videoQuality: config.videoQuality,
  };
}

export interface MuxConfigOptions {
  /** How long a secret read through the extension is reused by this container. Default 300 s (the extension's own). */
  readonly secretTtlMs?: number;
  /** The extension's origin. Default `http://localhost:${PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? 2773}`. */
  readonly secretsExtensionUrl?: string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** Per-request timeout for the extension call. Default 5 s. */
  readonly secretsTimeoutMs?: number;
}

const playbackPolicies: readonly MuxPlaybackPolicy[] = ['public', 'signed'];
const videoQualities: readonly MuxVideoQuality[] = ['basic', 'plus', 'premium'];

/** A shorter binding key is refused: the generated ones are 64 characters (infra/constructs/mux-secret.ts). */
export const minimumBindingKeyLength = 32;

function bindingKey(value: string, source: string, variable?: string): string {
  if (value.length < minimumBindingKeyLength) {
    throw new MuxConfigurationError(`${source} must be at least ${minimumBindingKeyLength} characters`, {
      ...(variable === undefined ? {} : { variable }),
      accepted: `at least ${minimumBindingKeyLength} characters`,
    });
  }
  return value;
}

/** The Mux variables of a function's environment, checked; no secret is read yet. */
export interface MuxSettings extends MuxUrlHosts {
  readonly baseUrl: string | null;
  readonly playbackPolicy: MuxPlaybackPolicy;
  readonly videoQuality: MuxVideoQuality | null;
  /** MUX_SECRET_ARN: the credentials come from Secrets Manager (wins over `credentials`). */
  readonly secretArn: string | null;
  /** MUX_TOKEN_ID + MUX_TOKEN_SECRET (+ MUX_WEBHOOK_SECRET), when both are set. */
  readonly credentials: MuxCredentials | null;
  readonly bindingKeySecretArn: string | null;
  /** MUX_BINDING_KEY, checked for length. */
  readonly bindingKey: string | null;
  /** AWS_SESSION_TOKEN, which the Parameters and Secrets extension asks for. */
  readonly sessionToken: string | null;
  /** PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, default 2773. */
  readonly secretsExtensionPort: string;
  /** MUX_TIMEOUT_MS: per SDK request; null for the runtime's default. */
  readonly requestTimeoutMs: number | null;
}

/**
 * Reads the Mux variables. Invalid values throw at once (a cold start fails loudly rather than the first upload).
 *
 * Stream/image hosts: MUX_STREAM_BASE_URL / MUX_IMAGE_BASE_URL, else MUX_BASE_URL when set (the SDK and the emulator
 * serve everything from one origin), else stream.mux.com / image.mux.com.
 *
 * The binding key: MUX_BINDING_KEY_SECRET_ARN (through the extension), else MUX_BINDING_KEY, else none.
 */
export function muxSettingsFromEnv(env: Env): MuxSettings {
  const baseUrl = readHttpUrl(env, 'MUX_BASE_URL') ?? null;
  const tokenId = readString(env, 'MUX_TOKEN_ID');
  const tokenSecret = readString(env, 'MUX_TOKEN_SECRET');
  const envBindingKey = readString(env, 'MUX_BINDING_KEY');
  return {
    baseUrl,
    playbackPolicy: readEnum(env, 'MUX_PLAYBACK_POLICY', playbackPolicies) ?? 'public',
    videoQuality: readEnum(env, 'MUX_VIDEO_QUALITY', videoQualities) ?? null,
    streamBaseUrl: readHttpUrl(env, 'MUX_STREAM_BASE_URL') ?? baseUrl ?? defaultMuxUrlHosts.streamBaseUrl,
    imageBaseUrl: readHttpUrl(env, 'MUX_IMAGE_BASE_URL') ?? baseUrl ?? defaultMuxUrlHosts.imageBaseUrl,
    secretArn: readString(env, 'MUX_SECRET_ARN') ?? null,
    credentials: tokenId && tokenSecret ? { tokenId, tokenSecret, webhookSecret: readString(env, 'MUX_WEBHOOK_SECRET') ?? null } : null,
    bindingKeySecretArn: readString(env, 'MUX_BINDING_KEY_SECRET_ARN') ?? null,
    bindingKey: envBindingKey === undefined ? null : bindingKey(envBindingKey, 'MUX_BINDING_KEY', 'MUX_BINDING_KEY'),
    sessionToken: readString(env, 'AWS_SESSION_TOKEN') ?? null,
    secretsExtensionPort: readString(env, 'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT') ?? '2773',
    requestTimeoutMs: readDuration(env, 'MUX_TIMEOUT_MS', 'milliseconds', { min: 1 }) ?? null,
  };
}

/** The Mux configuration of checked settings; credentials are only read when `loadCredentials()` is called. */
export function muxConfig(settings: MuxSettings, options: MuxConfigOptions = {}): MuxConfig {
  const { baseUrl, playbackPolicy, videoQuality, streamBaseUrl, imageBaseUrl } = settings;
  const fixedBindingKey = settings.bindingKey;
  const loadBindingKey = settings.bindingKeySecretArn
    ? secretReader(settings.bindingKeySecretArn, settings, options, (secretString) => bindingKey(secretString.trim(), 'The asset binding key secret'))
    : async () => fixedBindingKey;
  const bindingKeySource: MuxCredentialSource = settings.bindingKeySecretArn ? 'secrets-manager' : fixedBindingKey === null ? 'none' : 'env';
  const common = { baseUrl, playbackPolicy, videoQuality, streamBaseUrl, imageBaseUrl, loadBindingKey, bindingKeySource };

  if (settings.secretArn) {
    const read = secretReader(settings.secretArn, settings, options, credentialsFromSecretString);
    return { ...common, configured: true, credentialSource: 'secrets-manager', loadCredentials: read };
  }

  const credentials = settings.credentials;
  if (credentials) return { ...common, configured: true, credentialSource: 'env', loadCredentials: async () => credentials };

  return {
    ...common,
    configured: false,
    credentialSource: 'none',
    loadCredentials: async () => {
      throw new MuxConfigurationError('Mux is not configured: set MUX_TOKEN_ID and MUX_TOKEN_SECRET, or MUX_SECRET_ARN');
    },
  };
}

/** {@link muxConfig} straight from an environment (tests and tools; functions parse once at their edge). */
export function muxConfigFromEnv(env: Env, options: MuxConfigOptions = {}): MuxConfig {
  return muxConfig(muxSettingsFromEnv(env), options);
}

/*
 * The extension's answer and the secret in it are checked by hand rather than with zod: they are a few strings, and
 * this module is in the health function's bundle, where zod would be the largest thing loaded at cold start beyond
 * the Data API client (docs/PERFORMANCE.md, P2).
 */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/** The credentials in the secret, or the names of its missing or malformed fields (never their values). */
function credentialsFromSecret(payload: unknown): MuxCredentials | { readonly badFields: string[] } {
  if (!isRecord(payload)) return { badFields: ['(not an object)'] };
  const { tokenId, tokenSecret, webhookSecret } = payload;
  const webhookSecretOk = webhookSecret == null || isNonEmptyString(webhookSecret);
  if (!isNonEmptyString(tokenId) || !isNonEmptyString(tokenSecret) || !webhookSecretOk) {
    const badFields = Object.entries({ tokenId: isNonEmptyString(tokenId), tokenSecret: isNonEmptyString(tokenSecret), webhookSecret: webhookSecretOk })
      .filter(([, ok]) => !ok)
      .map(([field]) => field);
    return { badFields };
  }
  return { tokenId, tokenSecret, webhookSecret: isNonEmptyString(webhookSecret) ? webhookSecret : null };
}

function credentialsFromSecretString(secretString: string): MuxCredentials {
  let payload: unknown;
  try {
    payload = JSON.parse(secretString);
  } catch {
    throw new MuxConfigurationError('The Mux secret is not JSON');
  }
  const credentials = credentialsFromSecret(payload);
  if ('badFields' in credentials) {
    throw new MuxConfigurationError(`The Mux secret must be JSON with tokenId, tokenSecret, webhookSecret (bad: ${credentials.badFields.join(', ')})`);
  }
  return credentials;
}

interface CachedSecret {
  readonly expiresAt: number;
  readonly value: Promise<unknown>;
}

/** Per container, keyed by extension origin and secret id, so every config built from the same env shares it. */
const secretCache = new Map<string, CachedSecret>();

/** Reads a secret through the extension at most once per TTL, and turns its SecretString into a `T` with `parse`. */
function secretReader<T>(secretId: string, settings: MuxSettings, options: MuxConfigOptions, parse: (secretString: string) => T): () => Promise<T> {
  const origin = options.secretsExtensionUrl ?? `http://localhost:${settings.secretsExtensionPort}`;
  const ttlMs = options.secretTtlMs ?? 300_000;
  const now = options.now ?? Date.now;
  const cacheKey = `${origin}|${secretId}`;
  return () => {
    const cached = secretCache.get(cacheKey);
    if (cached && cached.expiresAt > now()) return cached.value as Promise<T>;
    // Concurrent first calls share one request; a failure is not cached, so the next call tries again.
    const value = fetchSecretString(origin, secretId, settings.sessionToken, options).then(parse);
    secretCache.set(cacheKey, { expiresAt: now() + ttlMs, value });
    value.catch(() => {
      if (secretCache.get(cacheKey)?.value === value) secretCache.delete(cacheKey);
    });
    return value;
  };
}

async function fetchSecretString(origin: string, secretId: string, sessionToken: string | null, options: MuxConfigOptions): Promise<string> {
  if (!sessionToken) throw new MuxConfigurationError('A secret ARN is set but AWS_SESSION_TOKEN is not (not in Lambda?)');
  const url = `${origin}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      headers: { 'X-Aws-Parameters-Secrets-Token': sessionToken },
      signal: AbortSignal.timeout(options.secretsTimeoutMs ?? 5_000),
    });
  } catch (error) {
    throw new MuxConfigurationError('The Parameters and Secrets extension could not be reached', { cause: error });
  }
  if (!response.ok) {
    // The body can echo the request; only the status is reported.
    await response.body?.cancel();
    throw new MuxConfigurationError(`The Parameters and Secrets extension answered ${response.status} for ${secretId}`);
  }
  const envelope: unknown = await response.json().catch(() => null);
  const secretString = isRecord(envelope) ? envelope.SecretString : undefined;
  if (typeof secretString !== 'string') throw new MuxConfigurationError(`The secret ${secretId} has no SecretString`);
  return secretString;
}
