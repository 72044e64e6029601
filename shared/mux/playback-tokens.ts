/**
 * Tokens for signed playback ids: RS256 JWTs signed with a Mux URL signing key, appended as `?token=` to the stream,
 * image and text-track URLs (mux.com docs, "Secure video playback"; "Signing JWTs").
 *
 * - header `{ alg: "RS256", typ: "JWT", kid }`; claims `{ kid, sub, aud, exp }`: `sub` the playback id, `aud` what
 *   the URL is for (`v` video: the HLS manifest, MP4 renditions and text tracks on stream.mux.com; `t` thumbnail,
 *   `g` animated GIF, `s` storyboard on image.mux.com), `exp` Unix seconds. The claims are exactly what
 *   `@mux/mux-node`'s `jwt.signPlaybackId` writes (it puts `kid` in the claims); the header also carries `kid`, its
 *   standard place (RFC 7515 §4.1.4) and where the docs' `jsonwebtoken` examples put it.
 *
 * Signed with `node:crypto` rather than the SDK's helper: the helper lives on the `Mux` client, so using it pulls the
 * SDK into the videos function, which otherwise never loads it. Measured with the Lambda esbuild settings: the videos
 * bundle is 790.8 kB with this signer against 860.9 kB with `mux.jwt.signPlaybackId` (782.6 kB before signing).
 */
import { sign } from 'node:crypto';
import type { MuxSigningKey } from './config.js';

/** Mux's `aud` values for playback URLs. */
export type PlaybackAudience = 'v' | 't' | 'g' | 's';

export interface PlaybackClaims {
  readonly kid: string;
  readonly sub: string;
  readonly aud: PlaybackAudience;
  /** Unix seconds. */
  readonly exp: number;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** The JWT for `claims`, signed with `key` (whose id must be `claims.kid`). */
export function signPlaybackToken(key: MuxSigningKey, claims: Omit<PlaybackClaims, 'kid'>): string {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.keyId }));
  // Same claim order as the SDK's helper, so a token can be compared byte for byte apart from the header.
  const payload = base64url(JSON.stringify({ kid: key.keyId, sub: claims.sub, aud: claims.aud, exp: claims.exp }));
  const input = `${header}.${payload}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/** `url` with `token` as its `token` query parameter. */
export function withToken(url: string, token: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.toString();
}

/** The audience a Mux playback URL's path needs: thumbnails, GIFs and storyboards have their own; the rest is `v`. */
export function audienceForPath(path: string): PlaybackAudience {
  if (/\/thumbnail\.(jpg|jpeg|png|webp)$/.test(path)) return 't';
  if (/\/animated\.(gif|webp)$/.test(path)) return 'g';
  if (/\/storyboard\.(vtt|json|jpg|png|webp)$/.test(path)) return 's';
  return 'v';
}
