/**
 * A local identity provider standing in for Cognito: one RS256 key pair kept under `.local/auth/` (so tokens minted by
 * `npm run token` stay valid across restarts of `npm start`), its public JWKS, and a token minter whose tokens carry
 * the claims reelay reads (`sub`, `cognito:groups`).
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK } from 'jose';

/** Fixed, so a token stays valid whichever port the emulator listens on. `.invalid` never resolves (RFC 6761). */
export const localIssuer = 'https://auth.reelay.invalid/local-issuer';
export const localAudience = 'reelay-local';
/** The key pair's folder, in the local stack's state folder (`.local/`, or `REELAY_LOCAL_DIR`: local/stack/config.ts). */
export const localAuthDir = join(process.env.REELAY_LOCAL_DIR ? resolve(process.env.REELAY_LOCAL_DIR) : join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.local'), 'auth');

const signingAlgorithm = 'RS256';
const keyFileName = 'signing-key.json';

export interface MintTokenOptions {
  readonly sub: string;
  readonly admin?: boolean;
  /** Extra `cognito:groups`, each name exactly as given; `admin: true` adds the admin group. */
  readonly groups?: readonly string[];
  /** OAuth scopes, as Cognito writes them into an access token's `scope` claim (space-separated). */
  readonly scopes?: readonly string[];
  /** Seconds from now (negative for an already expired token), or a jose time span such as `"12h"`. Default 12 h. */
  readonly expiresIn?: number | string;
  /** Seconds from now before which the token is not valid (the `nbf` claim). */
  readonly notBeforeIn?: number;
  readonly issuer?: string;
  /** `null` leaves `aud` out, as Cognito access tokens do (they carry `client_id` instead). */
  readonly audience?: string | readonly string[] | null;
  readonly claims?: Readonly<Record<string, unknown>>;
}

export interface LocalAuth {
  readonly issuer: string;
  readonly audience: string;
  /** The group `admin: true` puts a token in (the functions' ADMIN_GROUP). */
  readonly adminGroup: string;
  /** The public keys, as served at `/.well-known/jwks.json`. */
  readonly jwks: JSONWebKeySet;
  mintToken(options: MintTokenOptions): Promise<string>;
}

export interface LocalAuthOptions {
  /** Where the key pair lives; created on first use. Default `.local/auth/` at the repository root. */
  readonly dir?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Default `admin`, as the functions' ADMIN_GROUP. */
  readonly adminGroup?: string;
}

async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(signingAlgorithm, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: signingAlgorithm, use: 'sig' };
}

/**
 * Reads the key, creating it on first use. Parallel first uses (test workers, `npm start` and `npm run token`) must
 * agree on one key: each writes a private temp file and `link`s it into place, which fails if another won the race.
 */
async function loadOrCreateSigningKey(dir: string): Promise<JWK> {
  const path = join(dir, keyFileName);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as JWK;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const candidate = join(dir, `${keyFileName}.${randomUUID()}.tmp`);
  await writeFile(candidate, JSON.stringify(await generateSigningKey()), { mode: 0o600 });
  try {
    await link(candidate, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(candidate);
  }
  return JSON.parse(await readFile(path, 'utf8')) as JWK;
}

function publicPart(privateJwk: JWK): JWK {
  const { kty, n, e, kid, alg, use } = privateJwk;
  return { kty, n, e, kid, alg, use };
}

export async function createLocalAuth(options: LocalAuthOptions = {}): Promise<LocalAuth> {
  const privateJwk = await loadOrCreateSigningKey(options.dir ?? localAuthDir);
  const signingKey = await importJWK(privateJwk, signingAlgorithm);
  const issuer = options.issuer ?? localIssuer;
  const audience = options.audience ?? localAudience;
  const adminGroup = options.adminGroup ?? 'admin';
  return {
    issuer,
    audience,
    adminGroup,
    jwks: { keys: [publicPart(privateJwk)] },
    async mintToken(token) {
      const groups = [...new Set([...(token.groups ?? []), ...(token.admin ? [adminGroup] : [])])];
      const now = Math.floor(Date.now() / 1000);
      const expiresIn = token.expiresIn ?? '12h';
      const jwt = new SignJWT({
        ...token.claims,
        ...(groups.length > 0 ? { 'cognito:groups': groups } : {}),
        ...(token.scopes && token.scopes.length > 0 ? { scope: token.scopes.join(' ') } : {}),
        token_use: 'access',
      })
        .setProtectedHeader({ alg: signingAlgorithm, kid: privateJwk.kid, typ: 'JWT' })
        .setSubject(token.sub)
        .setIssuer(token.issuer ?? issuer)
        .setIssuedAt(now)
        .setJti(randomUUID())
        .setExpirationTime(typeof expiresIn === 'number' ? now + expiresIn : expiresIn);
      if (token.notBeforeIn !== undefined) jwt.setNotBefore(now + token.notBeforeIn);
      const tokenAudience = token.audience === undefined ? audience : token.audience;
      if (tokenAudience !== null) jwt.setAudience(typeof tokenAudience === 'string' ? tokenAudience : [...tokenAudience]);
      return jwt.sign(signingKey);
    },
  };
}

/** A token from the default local identity provider, as `npm run token` prints it. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  return (await createLocalAuth()).mintToken(options);
}
