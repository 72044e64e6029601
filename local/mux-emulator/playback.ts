/**
 * Signed playback in the Mux emulator: the URL signing keys it knows, and the check a signed playback id's media URL
 * must pass before anything is served — `?token=` an RS256 JWT whose `kid` (header, or claim as `@mux/mux-node`
 * writes it) is a registered key, whose signature that key's public key verifies, whose `aud` fits the URL
 * (shared/mux/playback-tokens.ts: `t` thumbnails, `g` GIFs, `s` storyboards, `v` the rest), whose `sub` is the
 * playback id of the URL and whose `exp` is in the future. Anything else is a 403, as Mux answers. Public playback
 * ids are served without a token, and a token on them is ignored.
 *
 * Limits: no playback restrictions (referrer, user agent), no `nbf`, and none of the modifiers Mux reads from the
 * claims (`time`, `width`, …) change what is served.
 */
import { createPublicKey, generateKeyPair, randomBytes, verify, type KeyObject } from 'node:crypto';
import { audienceForPath } from '../../shared/mux/playback-tokens.js';

export interface EmulatorSigningKey {
  readonly keyId: string;
  /** SPKI or PKCS#1 PEM, or a key object. */
  readonly publicKey: string | KeyObject;
}

/** A URL signing key as Mux creates one: an id, and the private key as a base64-encoded PKCS#1 PEM. */
export interface GeneratedSigningKey {
  readonly keyId: string;
  /** What Mux returns as `private_key` (and reelay reads from MUX_SIGNING_PRIVATE_KEY or the secret). */
  readonly privateKeyBase64: string;
  readonly publicKeyPem: string;
}

export async function generateSigningKey(): Promise<GeneratedSigningKey> {
  const { publicKey, privateKey } = await new Promise<{ publicKey: string; privateKey: string }>((resolve, reject) =>
    generateKeyPair(
      'rsa',
      { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } },
      (error, publicPem, privatePem) => (error ? reject(error) : resolve({ publicKey: publicPem, privateKey: privatePem })),
    ),
  );
  return { keyId: `local${randomBytes(16).toString('hex')}`, privateKeyBase64: Buffer.from(privateKey).toString('base64'), publicKeyPem: publicKey };
}

export type PlaybackRefusal = 'missing_token' | 'malformed_token' | 'unknown_kid' | 'bad_signature' | 'wrong_aud' | 'wrong_sub' | 'expired';

function decodeJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface PlaybackGate {
  /** Null when `path` (of `playbackId`, whose policy is `policy`) may be served; why not otherwise. */
  check(playbackId: string, policy: string, path: string, token: string | null): PlaybackRefusal | null;
  /** A playlist whose URIs carry `token` on, as Mux's manifests do for signed playback ids. */
  tokenizePlaylist(playlist: string, token: string | null): string;
}

export function createPlaybackGate(keys: readonly EmulatorSigningKey[], now: () => number = Date.now): PlaybackGate {
  const byId = new Map(keys.map((key) => [key.keyId, typeof key.publicKey === 'string' ? createPublicKey(key.publicKey) : key.publicKey]));
  return {
    check(playbackId, policy, path, token) {
      if (policy !== 'signed') return null;
      if (!token) return 'missing_token';
      const parts = token.split('.');
      if (parts.length !== 3) return 'malformed_token';
      const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
      const header = decodeJson(headerPart);
      const claims = decodeJson(payloadPart);
      if (header === null || claims === null || header.alg !== 'RS256') return 'malformed_token';
      const kid = header.kid ?? claims.kid;
      const key = typeof kid === 'string' ? byId.get(kid) : undefined;
      if (key === undefined) return 'unknown_kid';
      if (!verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), key, Buffer.from(signaturePart, 'base64url'))) return 'bad_signature';
      if (claims.aud !== audienceForPath(path)) return 'wrong_aud';
      if (claims.sub !== playbackId) return 'wrong_sub';
      if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now()) return 'expired';
      return null;
    },
    tokenizePlaylist(playlist, token) {
      if (!token) return playlist;
      return playlist.replace(/^(\/[^\s#]*)$/gm, (uri) => `${uri}?token=${encodeURIComponent(token)}`);
    },
  };
}
