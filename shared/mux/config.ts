/**
 * Where Mux credentials and options come from.
 *
 * - Locally and in tests: MUX_TOKEN_ID, MUX_TOKEN_SECRET, MUX_WEBHOOK_SECRET, MUX_BINDING_KEY, MUX_SIGNING_KEY_ID and
 *   MUX_SIGNING_PRIVATE_KEY (the URL signing key of signed playback), and MUX_BASE_URL for the emulator.
 * - In AWS: MUX_SECRET_ARN names a Secrets Manager secret `{ "tokenId", "tokenSecret", "webhookSecret" }` (with
 *   `"signingKeyId"` and `"signingPrivateKey"` too, optional, for signed playback) and
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
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { ReelayError } from '../errors.js';
import type { MuxPlaybackPolicy } from './assets.js';
import { defaultMuxUrlHosts, type MuxUrlHosts } from './urls.js';

/** Mux is missing or misconfigured: a bad MUX_* value, or a secret that cannot be read or parsed. A server fault. */
export class MuxConfigurationError extends ReelayError {
  readonly code = 'mux_configuration_error';
}

export type MuxVideoQuality = 'basic' | 'plus' | 'premium';

export interface MuxCredentials {
  readonly tokenId: string;
  readonly tokenSecret: string;
  /** Null when none is configured: webhooks then cannot be verified (and are refused). */
  readonly webhookSecret: string | null;
}

export type MuxCredentialSource = 'env' | 'secrets-manager' | 'none';

/** A Mux URL signing key: what signs the tokens of signed playback ids (shared/mux/playback-tokens.ts). */
export interface MuxSigningKey {
  /** The signing key's id (the `id` Mux gives it). */
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

/** Tokens last an hour unless PLAYBACK_TOKEN_TTL_SECONDS says otherwise. */
export const defaultPlaybackTokenTtlSeconds = 3600;

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
  /** Where the URL signing key is expected from; `none` means signed playback ids cannot be given tokens. */
  readonly signingKeySource: MuxCredentialSource;
  /** How long a playback token minted at read time is valid. */
  readonly playbackTokenTtlSeconds: number;
  /** Reads the credentials (from the extension at most once per TTL). Throws MuxConfigurationError if unavailable. */
  loadCredentials(): Promise<MuxCredentials>;
  /**
   * Reads the asset binding key (shared/mux/binding.ts); null when none is configured. Throws MuxConfigurationError
   * when its secret cannot be read or is too short.
   */
  loadBindingKey(): Promise<string | null>;
  /**
   * Reads the URL signing key; null when none is configured. Throws MuxConfigurationError when its secret cannot be
   * read, or the key is only half given or is not an RSA private key.
   */
  loadSigningKey(): Promise<MuxSigningKey | null>;
}

/** What diagnostics may show: no secrets, no ARNs' contents. */
export function describeMuxConfig(config: MuxConfig): Record<string, unknown> {
  return {
    configured: config.configured,
    credentialSource: config.credentialSource,
    bindingKeySource: config.bindingKeySource,
    emulator: config.baseUrl !== null,
    playbackPolicy: config.playbackPolicy,
    signingKeySource: config.signingKeySource,
    playbackTokenTtlSeconds: config.playbackTokenTtlSeconds,
    videoQuality: config.videoQuality,
    // Every read of a ready video would fail: said here, where an operator looks first.
    ...(config.playbackPolicy === 'signed' && config.signingKeySource === 'none' && {
      playbackSigningError: 'MUX_PLAYBACK_POLICY is signed but no URL signing key is configured (MUX_SIGNING_KEY_ID / MUX_SIGNING_PRIVATE_KEY, or the Mux secret)',
    }),
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

type Env = Readonly<Record<string, string | undefined>>;

const playbackPolicies: readonly MuxPlaybackPolicy[] = ['public', 'signed'];
const videoQualities: readonly MuxVideoQuality[] = ['basic', 'plus', 'premium'];

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new MuxConfigurationError(`${name} must be one of ${allowed.join(', ')}`);
}

function httpUrl(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MuxConfigurationError(`${name} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MuxConfigurationError(`${name} must be http(s)`);
  return value.replace(/\/+$/, '');
}

/** A shorter binding key is refused: the generated ones are 64 characters (infra/constructs/mux-secret.ts). */
export const minimumBindingKeyLength = 32;

function bindingKey(value: string, source: string): string {
  if (value.length < minimumBindingKeyLength) throw new MuxConfigurationError(`${source} must be at least ${minimumBindingKeyLength} characters`);
  return value;
}

/**
 * A signing key from its id and private key: the base64-encoded PEM Mux gives once when the key is created, or a PEM
 * (PKCS#1 or PKCS#8). Throws MuxConfigurationError naming `source`, never the key, when it is not an RSA private key.
 */
export function parseSigningKey(keyId: string, privateKey: string, source: string): MuxSigningKey {
  if (!/^[\x21-\x7E]{1,255}$/.test(keyId)) throw new MuxConfigurationError(`The signing key id of ${source} is not a key id`);
  const trimmed = privateKey.trim();
  const pem = trimmed.startsWith('-----BEGIN') ? trimmed : Buffer.from(trimmed, 'base64').toString('utf8').trim();
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new MuxConfigurationError(`The signing private key of ${source} is not a PEM private key, nor a base64-encoded one`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new MuxConfigurationError(`The signing private key of ${source} must be an RSA key (RS256)`);
  return { keyId, privateKey: key };
}

/** Both halves of a signing key, or neither: null; one without the other is a configuration error. */
function signingKeyFrom(keyId: string | undefined, privateKey: string | undefined, source: string, names: string): MuxSigningKey | null {
  if (keyId === undefined && privateKey === undefined) return null;
  if (keyId === undefined || privateKey === undefined) throw new MuxConfigurationError(`${source}: set both ${names}, or neither`);
  return parseSigningKey(keyId, privateKey, source);
}

function playbackTokenTtl(value: string | undefined): number {
  if (value === undefined) return defaultPlaybackTokenTtlSeconds;
  const seconds = Number(value);
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw new MuxConfigurationError(`PLAYBACK_TOKEN_TTL_SECONDS must be a whole number of at least 1, got "${value}"`);
  return seconds;
}

/**
 * Reads Mux settings from the environment. Invalid values throw at once (a cold start fails loudly rather than the
 * first upload); credentials are only read when `loadCredentials()` is called.
 *
 * Stream/image hosts: MUX_STREAM_BASE_URL / MUX_IMAGE_BASE_URL, else MUX_BASE_URL when set (the SDK and the emulator
 * serve everything from one origin), else stream.mux.com / image.mux.com.
 *
 * The binding key: MUX_BINDING_KEY_SECRET_ARN (through the extension), else MUX_BINDING_KEY, else none. The signing
 * key: the Mux secret's `signingKeyId` / `signingPrivateKey` when MUX_SECRET_ARN is set, else MUX_SIGNING_KEY_ID /
 * MUX_SIGNING_PRIVATE_KEY, else none; it is parsed on first use, so a bad one fails the reads that sign, not the
 * functions that never do.
 */
export function muxConfigFromEnv(env: Env = process.env, options: MuxConfigOptions = {}): MuxConfig {
  const baseUrl = httpUrl('MUX_BASE_URL', nonEmpty(env.MUX_BASE_URL)) ?? null;
  const playbackPolicy = oneOf('MUX_PLAYBACK_POLICY', nonEmpty(env.MUX_PLAYBACK_POLICY), playbackPolicies) ?? 'public';
  const videoQuality = oneOf('MUX_VIDEO_QUALITY', nonEmpty(env.MUX_VIDEO_QUALITY), videoQualities) ?? null;
  const streamBaseUrl =
    httpUrl('MUX_STREAM_BASE_URL', nonEmpty(env.MUX_STREAM_BASE_URL)) ?? baseUrl ?? defaultMuxUrlHosts.streamBaseUrl;
  const imageBaseUrl =
    httpUrl('MUX_IMAGE_BASE_URL', nonEmpty(env.MUX_IMAGE_BASE_URL)) ?? baseUrl ?? defaultMuxUrlHosts.imageBaseUrl;
  const bindingKeySecretArn = nonEmpty(env.MUX_BINDING_KEY_SECRET_ARN);
  const envBindingKey = nonEmpty(env.MUX_BINDING_KEY);
  const fixedBindingKey = envBindingKey === undefined ? null : bindingKey(envBindingKey, 'MUX_BINDING_KEY');
  const loadBindingKey = bindingKeySecretArn
    ? secretReader(bindingKeySecretArn, env, options, (secretString) => bindingKey(secretString.trim(), 'The asset binding key secret'))
    : async () => fixedBindingKey;
  const bindingKeySource: MuxCredentialSource = bindingKeySecretArn ? 'secrets-manager' : fixedBindingKey === null ? 'none' : 'env';
  const playbackTokenTtlSeconds = playbackTokenTtl(nonEmpty(env.PLAYBACK_TOKEN_TTL_SECONDS));
  const common = { baseUrl, playbackPolicy, videoQuality, streamBaseUrl, imageBaseUrl, loadBindingKey, bindingKeySource, playbackTokenTtlSeconds };

  const secretArn = nonEmpty(env.MUX_SECRET_ARN);
  if (secretArn) {
    const read = secretReader(secretArn, env, options, muxSecretFromString);
    return {
      ...common,
      configured: true,
      credentialSource: 'secrets-manager',
      signingKeySource: 'secrets-manager',
      loadCredentials: async () => (await read()).credentials,
      loadSigningKey: async () => {
        const { signingKey } = await read();
        if (signingKey instanceof Error) throw signingKey;
        return signingKey;
      },
    };
  }

  const envSigningKeyId = nonEmpty(env.MUX_SIGNING_KEY_ID);
  const envSigningPrivateKey = nonEmpty(env.MUX_SIGNING_PRIVATE_KEY);
  let envSigningKey: MuxSigningKey | null | undefined;
  const envSigning = {
    signingKeySource: (envSigningKeyId ?? envSigningPrivateKey) === undefined ? ('none' as const) : ('env' as const),
    loadSigningKey: async () =>
      (envSigningKey ??= signingKeyFrom(envSigningKeyId, envSigningPrivateKey, 'The environment', 'MUX_SIGNING_KEY_ID and MUX_SIGNING_PRIVATE_KEY')),
  };

  const tokenId = nonEmpty(env.MUX_TOKEN_ID);
  const tokenSecret = nonEmpty(env.MUX_TOKEN_SECRET);
  if (tokenId && tokenSecret) {
    const credentials: MuxCredentials = { tokenId, tokenSecret, webhookSecret: nonEmpty(env.MUX_WEBHOOK_SECRET) ?? null };
    return { ...common, ...envSigning, configured: true, credentialSource: 'env', loadCredentials: async () => credentials };
  }

  return {
    ...common,
    ...envSigning,
    configured: false,
    credentialSource: 'none',
    loadCredentials: async () => {
      throw new MuxConfigurationError('Mux is not configured: set MUX_TOKEN_ID and MUX_TOKEN_SECRET, or MUX_SECRET_ARN');
    },
  };
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

/** The Mux secret: the API credentials, and the URL signing key or why it cannot be used (reported when signing). */
interface MuxSecret {
  readonly credentials: MuxCredentials;
  readonly signingKey: MuxSigningKey | null | MuxConfigurationError;
}

function signingKeyFromSecret(payload: Record<string, unknown>): MuxSigningKey | null | MuxConfigurationError {
  const { signingKeyId, signingPrivateKey } = payload;
  const given = (value: unknown) => (value == null || value === '' ? undefined : value);
  const keyId = given(signingKeyId);
  const privateKey = given(signingPrivateKey);
  if ((keyId !== undefined && typeof keyId !== 'string') || (privateKey !== undefined && typeof privateKey !== 'string')) {
    return new MuxConfigurationError('The Mux secret\'s signingKeyId and signingPrivateKey must be strings');
  }
  try {
    return signingKeyFrom(keyId, privateKey, 'The Mux secret', 'signingKeyId and signingPrivateKey');
  } catch (error) {
    return error instanceof MuxConfigurationError ? error : new MuxConfigurationError('The Mux secret\'s signing key cannot be read');
  }
}

function muxSecretFromString(secretString: string): MuxSecret {
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
  return { credentials, signingKey: signingKeyFromSecret(payload as Record<string, unknown>) };
}

interface CachedSecret {
  readonly expiresAt: number;
  readonly value: Promise<unknown>;
}

/** Per container, keyed by extension origin and secret id, so every config built from the same env shares it. */
const secretCache = new Map<string, CachedSecret>();

/** Reads a secret through the extension at most once per TTL, and turns its SecretString into a `T` with `parse`. */
function secretReader<T>(secretId: string, env: Env, options: MuxConfigOptions, parse: (secretString: string) => T): () => Promise<T> {
  const origin =
    options.secretsExtensionUrl ?? `http://localhost:${nonEmpty(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT) ?? '2773'}`;
  const ttlMs = options.secretTtlMs ?? 300_000;
  const now = options.now ?? Date.now;
  const cacheKey = `${origin}|${secretId}`;
  return () => {
    const cached = secretCache.get(cacheKey);
    if (cached && cached.expiresAt > now()) return cached.value as Promise<T>;
    // Concurrent first calls share one request; a failure is not cached, so the next call tries again.
    const value = fetchSecretString(origin, secretId, env, options).then(parse);
    secretCache.set(cacheKey, { expiresAt: now() + ttlMs, value });
    value.catch(() => {
      if (secretCache.get(cacheKey)?.value === value) secretCache.delete(cacheKey);
    });
    return value;
  };
}

async function fetchSecretString(origin: string, secretId: string, env: Env, options: MuxConfigOptions): Promise<string> {
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
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
