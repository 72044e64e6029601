/**
 * Playback URLs as a reader gets them. For a `signed` playback policy the stored URLs (which never carry a token)
 * get one at read time, minted here for this response and never stored: `streamingUrl`, `mp4Url` and the captions'
 * `webvttUrl` a `v` token, `thumbnailUrl` a `t` token, all for the video's playback id and expiring together
 * `ttlSeconds` from now (shared/mux/playback-tokens.ts).
 *
 * The policy is the deployment's (MUX_PLAYBACK_POLICY): reelay does not store which policy each playback id has, so
 * a video ingested before the policy changed keeps its old playback id and gets tokens it does not need.
 */
import { ReelayError } from '../errors.js';
import type { MuxPlaybackPolicy } from '../mux/assets.js';
import type { MuxSigningKey } from '../mux/config.js';
import { signPlaybackToken, withToken, type PlaybackAudience } from '../mux/playback-tokens.js';
import type { VideoJson } from './presenter.js';

/**
 * Signed playback is configured but no token can be minted: no URL signing key, or one that cannot be read. A server
 * fault (500) whose message names what to set, never a key; the cause is logged.
 */
export class PlaybackSigningError extends ReelayError {
  readonly code = 'playback_signing_unavailable';
}

export interface PlaybackSigning {
  readonly policy: MuxPlaybackPolicy;
  readonly ttlSeconds: number;
  /** The URL signing key; null when none is configured. May throw (a secret that cannot be read). */
  loadKey(): Promise<MuxSigningKey | null>;
  readonly now?: () => number;
}

export const missingSigningKeyMessage =
  'MUX_PLAYBACK_POLICY is signed but no URL signing key is configured: set signingKeyId and signingPrivateKey in the Mux secret ' +
  '(docs/DEPLOY.md), or MUX_SIGNING_KEY_ID and MUX_SIGNING_PRIVATE_KEY locally';

async function signingKey(signing: PlaybackSigning): Promise<MuxSigningKey> {
  let key: MuxSigningKey | null;
  try {
    key = await signing.loadKey();
  } catch (error) {
    throw new PlaybackSigningError('MUX_PLAYBACK_POLICY is signed but the URL signing key cannot be read (the function log says why)', {
      cause: error,
    });
  }
  if (key === null) throw new PlaybackSigningError(missingSigningKeyMessage);
  return key;
}

/** `json` with tokens in its playback URLs when the policy is signed; unchanged (but for the policy) otherwise. */
export async function withPlaybackTokens(json: VideoJson, signing: PlaybackSigning | undefined): Promise<VideoJson> {
  const policy = signing?.policy ?? 'public';
  const mux = json.mux;
  if (mux === null) return json;
  if (signing === undefined || policy === 'public' || mux.playbackId === null) {
    return { ...json, mux: { ...mux, playbackPolicy: policy, playbackTokenExpiresAt: null } };
  }
  const key = await signingKey(signing);
  const exp = Math.floor((signing.now ?? Date.now)() / 1000) + signing.ttlSeconds;
  const sub = mux.playbackId;
  const tokens = new Map<PlaybackAudience, string>();
  const tokenFor = (aud: PlaybackAudience) => {
    let token = tokens.get(aud);
    if (token === undefined) tokens.set(aud, (token = signPlaybackToken(key, { sub, aud, exp })));
    return token;
  };
  const sign = (url: string | null, aud: PlaybackAudience) => (url === null ? null : withToken(url, tokenFor(aud)));
  return {
    ...json,
    mux: {
      ...mux,
      streamingUrl: sign(mux.streamingUrl, 'v'),
      mp4Url: sign(mux.mp4Url, 'v'),
      thumbnailUrl: sign(mux.thumbnailUrl, 't'),
      playbackPolicy: policy,
      playbackTokenExpiresAt: new Date(exp * 1000).toISOString(),
    },
    captions: json.captions === null ? null : { ...json.captions, webvttUrl: sign(json.captions.webvttUrl, 'v') },
  };
}
