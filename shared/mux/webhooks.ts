/**
 * Mux webhooks: signature verification, a typed event, and the video fields an asset translates to.
 *
 * Verification: `mux-signature: t=<unix>,v1=<hex>` where v1 = HMAC-SHA256(secret, `${t}.${rawBody}`). The header
 * shape and the timestamp (300 s tolerance, against an injectable clock) are checked here so the reason for a refusal
 * is known without reading error messages; the HMAC itself is checked by the SDK's `webhooks.verifySignature` (async
 * since SDK 14), which also checks the age against the process clock. Verify the raw body exactly as received.
 */
import { createHash } from 'node:crypto';
import type Mux from '@mux/mux-node';
import { Webhooks } from '@mux/mux-node/resources/webhooks';
import * as z from '../zod.js';
import { UnauthorizedError, type ValidationIssue } from '../errors.js';
import {
  describeAssetError,
  generatedTextTrack,
  hasReadyHighestMp4,
  latestStorableUnixSeconds,
  muxIdSchema,
  parseMuxStaticRendition,
  parseMuxTrack,
  primaryPlaybackId,
  safeParseMuxAsset,
  type MuxAsset,
  type MuxAssetStatus,
  type MuxPlaybackPolicy,
  type MuxStaticRendition,
  type MuxTrack,
} from './assets.js';
import { MuxConfigurationError } from './config.js';
import type { MuxUrls } from './urls.js';

export const webhookToleranceSeconds = 300;

export type WebhookRefusal = 'missing_signature' | 'malformed_signature' | 'stale' | 'from_the_future' | 'signature_mismatch';

/** A webhook that is not provably from Mux (HTTP 401). `reason` is for logs; never tell the caller which check failed. */
export class WebhookSignatureError extends UnauthorizedError {
  constructor(readonly reason: WebhookRefusal) {
    super('The Mux webhook signature is missing or invalid');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Events

export const muxAssetEventTypes = [
  'video.asset.created',
  'video.asset.ready',
  'video.asset.errored',
  'video.asset.deleted',
  'video.asset.updated',
  // Older MP4 API (mp4_support): the whole asset comes with it.
  'video.asset.static_renditions.ready',
] as const;
export const muxTrackEventTypes = ['video.asset.track.created', 'video.asset.track.ready', 'video.asset.track.errored'] as const;
/**
 * Events about Mux direct uploads (`POST /video/v1/uploads`). reelay uploads to S3 and creates assets from a URL, so
 * none of these can concern a reelay video: they are recognised only to be acknowledged as not reelay's.
 */
export const muxUploadEventTypes = ['video.upload.created', 'video.upload.asset_created', 'video.upload.errored', 'video.upload.cancelled'] as const;
export const muxStaticRenditionEventType = 'video.asset.static_rendition.ready';

export type MuxAssetEventType = (typeof muxAssetEventTypes)[number];
export type MuxTrackEventType = (typeof muxTrackEventTypes)[number];
export type MuxUploadEventType = (typeof muxUploadEventTypes)[number];

interface MuxEventCommon {
  /** Mux's event id: the idempotency key (Mux redelivers, even after a 2xx). */
  readonly id: string;
  /** The type exactly as Mux sent it (also for unknown events). */
  readonly receivedType: string;
  readonly createdAt: Date;
  readonly objectType: string | null;
  readonly objectId: string | null;
  /** The asset the event concerns, when it can be told. */
  readonly assetId: string | null;
}

export type MuxEvent =
  | (MuxEventCommon & { readonly kind: 'asset'; readonly type: MuxAssetEventType; readonly data: MuxAsset })
  | (MuxEventCommon & { readonly kind: 'track'; readonly type: MuxTrackEventType; readonly data: MuxTrack | null })
  | (MuxEventCommon & {
      readonly kind: 'static_rendition';
      readonly type: typeof muxStaticRenditionEventType;
      readonly data: MuxStaticRendition | null;
    })
  | (MuxEventCommon & { readonly kind: 'upload'; readonly type: MuxUploadEventType; readonly data: unknown })
  /** Anything else: acknowledge it (so Mux stops retrying), do not apply it. */
  | (MuxEventCommon & { readonly kind: 'unknown'; readonly type: 'unknown'; readonly data: unknown });

/**
 * A correctly signed body that is not a usable Mux event: not JSON, not an envelope, or a field out of bounds (an id
 * with a NUL byte, a duration of 1e308). Mux would retry a non-2xx answer for 24 h and get the same answer, so it is
 * acknowledged and recorded as rejected instead. `id`, `receivedType` and `objectId` are what the events table can
 * hold: the values received when they are valid, otherwise a digest (`sha256:…` of the id, or of the whole body when
 * there is no id) and `invalid`, so Mux's redeliveries of the same body are recognised.
 */
export interface RejectedWebhook {
  readonly kind: 'rejected';
  readonly id: string;
  readonly receivedType: string;
  readonly objectId: string | null;
  readonly issues: readonly ValidationIssue[];
}

/**
 * True when the event's payload is not the whole asset (track and static-rendition events, whose data can even be
 * empty): re-fetch the asset with `MuxGateway.getAsset(event.assetId)` before storing anything.
 */
export function eventNeedsAssetRefetch(event: MuxEvent): boolean {
  return event.kind === 'track' || event.kind === 'static_rendition';
}

/** 1970-01-01 to 9999-12-31: a time every driver can store (see latestStorableUnixSeconds). */
const storableDate = (text: string) => {
  const time = new Date(text).getTime();
  return time >= 0 && time <= latestStorableUnixSeconds * 1000 + 999;
};

const envelopeSchema = z.looseObject({
  id: muxIdSchema,
  type: muxIdSchema,
  created_at: z.string().check(z.maxLength(64), z.refine(storableDate, 'expected an ISO 8601 time between 1970 and 9999')),
  object: z.nullish(z.looseObject({ type: z.nullish(z.string().check(z.maxLength(255))), id: z.nullish(muxIdSchema) })),
  data: z.unknown(),
});

function includes<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

const issuesOf = (error: z.core.$ZodError, prefix: readonly (string | number)[] = []): ValidationIssue[] =>
  error.issues.map((issue) => ({ path: [...prefix, ...issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key))], message: issue.message }));

const digest = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const validId = (value: unknown): value is string => muxIdSchema.safeParse(value).success;

/** What can be recorded of a body that failed validation (see {@link RejectedWebhook}). */
function rejected(rawBody: string, json: unknown, issues: readonly ValidationIssue[]): RejectedWebhook {
  const fields = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const object = typeof fields.object === 'object' && fields.object !== null ? (fields.object as Record<string, unknown>) : {};
  let id: string;
  if (validId(fields.id)) id = fields.id;
  else id = digest(typeof fields.id === 'string' ? `id:${fields.id}` : `body:${rawBody}`);
  return { kind: 'rejected', id, receivedType: validId(fields.type) ? fields.type : 'invalid', objectId: validId(object.id) ? object.id : null, issues };
}

function parseEnvelope(rawBody: string): MuxEvent | RejectedWebhook {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    return rejected(rawBody, null, [{ path: [], message: 'The Mux webhook body is not JSON' }]);
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) return rejected(rawBody, json, issuesOf(parsed.error));
  const envelope = parsed.data;
  const createdAt = new Date(envelope.created_at);
  const objectType = envelope.object?.type ?? null;
  const objectId = envelope.object?.id ?? null;
  const assetObjectId = objectType === 'asset' ? objectId : null;
  const common = { id: envelope.id, receivedType: envelope.type, createdAt, objectType, objectId };
  const type = envelope.type;

  if (includes(muxAssetEventTypes, type)) {
    const rawData = typeof envelope.data === 'object' && envelope.data !== null ? envelope.data : {};
    const data = safeParseMuxAsset({ id: objectId, ...rawData });
    if ('issues' in data) return rejected(rawBody, json, data.issues.map((issue) => ({ ...issue, path: ['data', ...issue.path] })));
    return { ...common, kind: 'asset', type, data: data.asset, assetId: data.asset.id };
  }
  if (includes(muxTrackEventTypes, type)) {
    const data = parseMuxTrack(envelope.data);
    return { ...common, kind: 'track', type, data, assetId: data?.assetId ?? assetObjectId };
  }
  if (type === muxStaticRenditionEventType) {
    const data = parseMuxStaticRendition(envelope.data);
    return { ...common, kind: 'static_rendition', type, data, assetId: data?.assetId ?? assetObjectId };
  }
  if (includes(muxUploadEventTypes, type)) return { ...common, kind: 'upload', type, data: envelope.data, assetId: null };
  return { ...common, kind: 'unknown', type: 'unknown', data: envelope.data, assetId: assetObjectId };
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

export type WebhookHeaders = Headers | Readonly<Record<string, string | undefined>>;

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/** `t=<unix>,v1=<hex>[,v1=…]` → timestamp and signatures; null when it does not have that shape. */
function parseSignatureHeader(header: string): { timestamp: number; signatures: string[] } | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't' && /^\d+$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && /^[0-9a-f]+$/i.test(value)) signatures.push(value);
  }
  return timestamp === null || signatures.length === 0 ? null : { timestamp, signatures };
}

let verifier: Webhooks | undefined;

/**
 * The SDK's webhook verifier alone, not the whole client: `Webhooks` reads its client only for a default secret
 * (never used: the secret is always passed), so it gets a client that has none. Importing the resource module keeps
 * the rest of the SDK (every API resource, the HTTP core) out of the cold start of functions that only verify.
 */
function webhookVerifier(): Webhooks {
  verifier ??= new Webhooks({ webhookSecret: null } as Pick<Mux, 'webhookSecret'> as Mux);
  return verifier;
}

export interface VerifyWebhookOptions {
  /** The clock, ms since the epoch. */
  readonly now?: () => number;
  /** An SDK instance to verify with (the one the function already has); default a credential-less one. */
  readonly mux?: Mux;
}

/**
 * Verifies a Mux webhook and parses it into a {@link MuxEvent}, or a {@link RejectedWebhook} when the body is
 * correctly signed but not a usable event.
 *
 * @param rawBody the body exactly as received (API Gateway: decode `body` if `isBase64Encoded`), never re-serialised.
 * @throws WebhookSignatureError (an UnauthorizedError) for a missing, malformed, forged or stale signature.
 * @throws MuxConfigurationError when no webhook secret is configured (a server fault: Mux should retry later).
 */
export async function verifyAndParseWebhook(
  rawBody: string,
  headers: WebhookHeaders,
  secret: string | null | undefined,
  options: VerifyWebhookOptions = {},
): Promise<MuxEvent | RejectedWebhook> {
  if (!secret) throw new MuxConfigurationError('No Mux webhook secret is configured (MUX_WEBHOOK_SECRET or the secret)');
  const header = headerValue(headers, 'mux-signature');
  if (!header) throw new WebhookSignatureError('missing_signature');
  const parsed = parseSignatureHeader(header);
  if (!parsed) throw new WebhookSignatureError('malformed_signature');

  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  if (nowSeconds - parsed.timestamp > webhookToleranceSeconds) throw new WebhookSignatureError('stale');
  // Mux signs when it sends; a timestamp far ahead is a replay aid, not clock skew.
  if (parsed.timestamp - nowSeconds > webhookToleranceSeconds) throw new WebhookSignatureError('from_the_future');

  try {
    await (options.mux?.webhooks ?? webhookVerifier()).verifySignature(rawBody, { 'mux-signature': header }, secret);
  } catch (error) {
    throw Object.assign(new WebhookSignatureError('signature_mismatch'), { cause: error });
  }
  return parseEnvelope(rawBody);
}

// ---------------------------------------------------------------------------------------------------------------
// Asset → video fields

/** Mux states in the order a video moves through them. `ready` and `errored` are final for an asset. */
export const muxStatusRank = { pending: 0, preparing: 1, ready: 2, errored: 2 } as const satisfies Record<string, number>;
export type RankedMuxStatus = keyof typeof muxStatusRank;

/**
 * Whether a stored Mux status may be replaced by an incoming one for the same asset: only forwards, or the same
 * status again (fresher details such as a track that became ready). `ready` and `errored` never replace each other
 * and are never replaced by `pending`/`preparing`, so late or out-of-order webhooks cannot move a video backwards.
 */
export function isMuxStatusAdvance(current: string | null | undefined, incoming: RankedMuxStatus): boolean {
  if (current === null || current === undefined || !(current in muxStatusRank)) return true;
  if (current === incoming) return true;
  return muxStatusRank[incoming] > muxStatusRank[current as RankedMuxStatus];
}

/**
 * What an asset means for the video row. Keys match the data layer's `MuxFields` (shared/db/video-fields.ts) so the
 * object can be stored as it is. Everything is derived from the asset alone, so the same asset always gives the same
 * fields whether it came in a webhook or from `getAsset`.
 */
export interface MuxVideoFields {
  readonly assetId: string;
  readonly playbackId: string | null;
  readonly uploadId: string | null;
  readonly status: MuxAssetStatus;
  readonly thumbnailUrl: string | null;
  readonly streamingUrl: string | null;
  /** Set once the `highest` MP4 static rendition is ready. */
  readonly mp4Url: string | null;
  /** Whole seconds, rounded. */
  readonly durationSeconds: number | null;
  readonly aspectRatio: string | null;
  readonly createdAt: Date | null;
  /** `observedAt` when the asset is ready (the event's time); null otherwise. Keep the first one stored. */
  readonly readyAt: Date | null;
  /** Mux's errors as one line, when the asset errored. */
  readonly error: string | null;
  /** The generated English subtitle track, once ready. */
  readonly textTrackId: string | null;
  readonly captionsWebvttUrl: string | null;
}

export function videoFieldsFromAsset(
  asset: MuxAsset,
  urls: MuxUrls,
  options: { observedAt?: Date; playbackPolicy?: MuxPlaybackPolicy } = {},
): MuxVideoFields {
  const playbackId = primaryPlaybackId(asset, options.playbackPolicy);
  const textTrack = generatedTextTrack(asset);
  const readyTextTrackId = textTrack?.status === 'ready' ? textTrack.id : null;
  return {
    assetId: asset.id,
    playbackId,
    uploadId: asset.uploadId,
    status: asset.status,
    thumbnailUrl: playbackId ? urls.thumbnail(playbackId) : null,
    streamingUrl: playbackId ? urls.streaming(playbackId) : null,
    mp4Url: playbackId && hasReadyHighestMp4(asset) ? urls.mp4(playbackId) : null,
    durationSeconds: asset.duration === null ? null : Math.round(asset.duration),
    aspectRatio: asset.aspectRatio,
    createdAt: asset.createdAt,
    readyAt: asset.status === 'ready' ? (options.observedAt ?? null) : null,
    error: asset.status === 'errored' && asset.errors ? describeAssetError(asset.errors) : null,
    textTrackId: readyTextTrackId,
    captionsWebvttUrl: playbackId && readyTextTrackId ? urls.textTrackVtt(playbackId, readyTextTrackId) : null,
  };
}
