/**
 * The passthrough reelay gives every asset it creates: `{videoId}.{attempt}.{tag}`, where `tag` is the first 16 bytes
 * of HMAC-SHA256(binding key, label | video id | attempt), base64url (22 characters; 70 characters in all, well under
 * Mux's 255). Anyone who can create assets in the same Mux environment can write any passthrough, but only reelay
 * can compute a tag that verifies, so a verified passthrough proves that reelay created the asset for that video and
 * that ingest attempt — not where the asset's content came from (a tag can be copied onto another asset: see
 * shared/videos/asset-ownership.ts for what adoption checks on top).
 *
 * The key is a secret of its own (MUX_BINDING_KEY locally, a generated Secrets Manager secret in AWS,
 * shared/mux/config.ts), never a Mux credential: rotating the Mux token or webhook secret must not orphan assets
 * whose ids are not stored yet.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MuxConfigurationError } from './config.js';

export { minimumBindingKeyLength } from './config.js';

/** Why a passthrough does not bind its asset to a video. */
export type BindingRefusal =
  /** The asset has no passthrough. */
  | 'no_passthrough'
  /** Not in reelay's tagged form (a bare video id as written before tags, or anything else). */
  | 'untagged'
  /** Tagged form, but the tag is not the one reelay computes (forged, or another deployment's key). */
  | 'invalid_tag'
  /** No binding key is configured, so no tag can be checked. */
  | 'no_key';

export type BindingCheck =
  | { readonly ok: true; readonly videoId: string; readonly attempt: number }
  | { readonly ok: false; readonly reason: BindingRefusal };

export interface AssetBinder {
  /** The passthrough for an asset created for `videoId` in ingest attempt `attempt`. */
  passthrough(videoId: string, attempt: number): string;
  /** Whether `passthrough` was made by {@link passthrough} with this key; compared in constant time. */
  verify(passthrough: string | null): BindingCheck;
}

const label = 'reelay mux asset binding v1';
const tagBytes = 16;
const tagLength = Math.ceil((tagBytes * 4) / 3);
/** Lower-case UUIDs (as PostgreSQL prints them) and canonical decimal attempts, so each binding has one spelling. */
const taggedForm = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(0|[1-9]\d{0,9})\.([A-Za-z0-9_-]+)$/;
const maxAttempt = 2_147_483_647;

function tagOf(key: Buffer, videoId: string, attempt: number): Buffer {
  return createHmac('sha256', key).update(`${label}|${videoId}|${attempt}`).digest().subarray(0, tagBytes);
}

/**
 * A binder for `key`; with no key, `verify` refuses everything (`no_key`) and `passthrough` throws a
 * MuxConfigurationError, so no asset is ever created without a tag.
 */
export function assetBinder(key: string | null): AssetBinder {
  const secret = key === null ? null : Buffer.from(key, 'utf8');
  return {
    passthrough(videoId, attempt) {
      if (secret === null) throw new MuxConfigurationError('No asset binding key is configured (MUX_BINDING_KEY or MUX_BINDING_KEY_SECRET_ARN)');
      const id = videoId.toLowerCase();
      if (!Number.isInteger(attempt) || attempt < 0 || attempt > maxAttempt) throw new RangeError(`attempt ${attempt} is not a whole number in range`);
      return `${id}.${attempt}.${tagOf(secret, id, attempt).toString('base64url')}`;
    },
    verify(passthrough) {
      if (passthrough === null || passthrough === '') return { ok: false, reason: 'no_passthrough' };
      const match = taggedForm.exec(passthrough);
      if (!match) return { ok: false, reason: 'untagged' };
      if (secret === null) return { ok: false, reason: 'no_key' };
      const [, videoId, attemptText, tagText] = match as unknown as [string, string, string, string];
      const attempt = Number(attemptText);
      const given = Buffer.from(tagText, 'base64url');
      // Re-encoding refuses the other spellings of the same bytes (unused low bits of the last character).
      if (tagText.length !== tagLength || attempt > maxAttempt || given.toString('base64url') !== tagText) return { ok: false, reason: 'invalid_tag' };
      return timingSafeEqual(given, tagOf(secret, videoId, attempt)) ? { ok: true, videoId, attempt } : { ok: false, reason: 'invalid_tag' };
    },
  };
}
