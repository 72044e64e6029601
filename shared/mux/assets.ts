/**
 * Mux's asset, track and static-rendition objects as reelay uses them: one normalised, camelCase shape whether the
 * object came from the REST API (`GET /video/v1/assets/{id}`) or from a webhook's `data`.
 *
 * Parsing is lenient on purpose: Mux adds fields often and omits many (a `video.asset.track.ready` event has been
 * seen with empty data), so everything but the asset id is optional and unknown fields are ignored. A payload that is
 * not an object at all, an asset without an id, or a stored field outside its column's bounds fails to parse.
 */
import * as z from '../zod.js';

export const muxAssetStatuses = ['preparing', 'ready', 'errored'] as const;
export type MuxAssetStatus = (typeof muxAssetStatuses)[number];

export type MuxPlaybackPolicy = 'public' | 'signed';

export interface MuxPlaybackId {
  readonly id: string;
  /** `public`, `signed`, or a policy reelay does not create (e.g. `drm`). */
  readonly policy: string;
}

export interface MuxTrack {
  readonly id: string | null;
  readonly type: string | null;
  readonly status: string | null;
  /** `generated_vod` for the subtitles Mux generates from speech; `uploaded`, `embedded`, … otherwise. */
  readonly textSource: string | null;
  readonly languageCode: string | null;
  readonly name: string | null;
  /** Set on track webhooks: the asset the track belongs to. */
  readonly assetId: string | null;
}

export interface MuxStaticRendition {
  readonly id: string | null;
  /** File name on stream.mux.com, e.g. `highest.mp4`. */
  readonly name: string | null;
  readonly resolution: string | null;
  readonly status: string | null;
  /** Set on static-rendition webhooks: the asset the file belongs to. */
  readonly assetId: string | null;
}

export interface MuxAssetError {
  readonly type: string;
  readonly messages: readonly string[];
}

export interface MuxAsset {
  readonly id: string;
  readonly status: MuxAssetStatus;
  readonly playbackIds: readonly MuxPlaybackId[];
  /** Seconds, fractional, as Mux reports it; null until Mux knows it. */
  readonly duration: number | null;
  /** e.g. `16:9`. */
  readonly aspectRatio: string | null;
  /** reelay puts the video id here. */
  readonly passthrough: string | null;
  readonly uploadId: string | null;
  readonly tracks: readonly MuxTrack[];
  readonly staticRenditions: { readonly status: string | null; readonly files: readonly MuxStaticRendition[] };
  readonly errors: MuxAssetError | null;
  readonly createdAt: Date | null;
}

const optionalString = z.nullish(z.string());

/*
 * Bounds on everything that reaches a column or a URL, checked here so that an asset from a webhook or from the API
 * either fits the schema of migration 0002 or is refused as a whole (never a PostgreSQL error, which would make Mux
 * retry a webhook for 24 h).
 */

/**
 * Mux ids (assets, playback ids, tracks, uploads, events): Mux documents at most 255 characters and the columns are
 * VARCHAR(255). Mux's own are letters and digits (event ids are UUIDs); playback and track ids are put into URLs, so
 * nothing beyond `_ . -` is accepted.
 */
export const muxIdSchema = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/, 'expected a Mux id: 1–255 letters, digits, "_", "." or "-"'));

// eslint-disable-next-line no-control-regex -- NUL is exactly what must be found
const unstorable = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text for a `text` column: PostgreSQL text cannot hold NUL (SQLSTATE 22021), and a lone surrogate is not UTF-8. */
export function storableText(maxLength: number) {
  return z.string().check(z.maxLength(maxLength), z.refine((text) => !unstorable.test(text), 'expected text without NUL characters or lone surrogates'));
}

/** 9999-12-31T23:59:59Z: the last second every driver and the Data API's `YYYY-MM-DD` timestamps can carry. */
export const latestStorableUnixSeconds = 253_402_300_799;
/** `mux_duration_seconds` is INTEGER. */
const maxDurationSeconds = 2_147_483_647;

const optionalId = z.nullish(muxIdSchema);

/** Mux sends `created_at` as a string of Unix seconds in the API and as a number in webhooks. */
const unixSeconds = z.nullish(
  z
    .union([z.string().check(z.regex(/^\d{1,12}$/, 'expected Unix seconds')), z.number()])
    .check(z.refine((value) => Number(value) >= 0 && Number(value) <= latestStorableUnixSeconds, 'expected a time between 1970 and 9999')),
);

const trackSchema = z.looseObject({
  id: optionalId,
  type: optionalString,
  status: optionalString,
  text_source: optionalString,
  language_code: optionalString,
  name: optionalString,
  asset_id: optionalId,
});

const staticRenditionSchema = z.looseObject({
  id: optionalString,
  name: optionalString,
  resolution: optionalString,
  status: optionalString,
  asset_id: optionalId,
});

const assetErrorsSchema = z.looseObject({
  type: z.nullish(storableText(255)),
  messages: z.nullish(z.array(storableText(10_000)).check(z.maxLength(100))),
});

const assetSchema = z.looseObject({
  id: muxIdSchema,
  status: optionalString,
  playback_ids: z.nullish(z.array(z.looseObject({ id: muxIdSchema, policy: optionalString })).check(z.maxLength(100))),
  duration: z.nullish(z.number().check(z.minimum(0), z.maximum(maxDurationSeconds))),
  /** `mux_aspect_ratio` is VARCHAR(20); Mux writes `16:9`. */
  aspect_ratio: z.nullish(z.string().check(z.regex(/^[\x21-\x7E]{1,20}$/, 'expected an aspect ratio such as 16:9'))),
  /** Anyone in the Mux environment can write it, and it never reaches a column: not bounded (shared/mux/binding.ts). */
  passthrough: optionalString,
  upload_id: optionalId,
  tracks: z.nullish(z.array(trackSchema)),
  static_renditions: z.nullish(z.looseObject({ status: optionalString, files: z.nullish(z.array(staticRenditionSchema)) })),
  errors: z.nullish(assetErrorsSchema),
  created_at: unixSeconds,
});

type RawTrack = z.infer<typeof trackSchema>;
type RawStaticRendition = z.infer<typeof staticRenditionSchema>;

function normaliseTrack(raw: RawTrack): MuxTrack {
  return {
    id: raw.id ?? null,
    type: raw.type ?? null,
    status: raw.status ?? null,
    textSource: raw.text_source ?? null,
    languageCode: raw.language_code ?? null,
    name: raw.name ?? null,
    assetId: raw.asset_id ?? null,
  };
}

function normaliseStaticRendition(raw: RawStaticRendition): MuxStaticRendition {
  return {
    id: raw.id ?? null,
    name: raw.name ?? null,
    resolution: raw.resolution ?? null,
    status: raw.status ?? null,
    assetId: raw.asset_id ?? null,
  };
}

function normaliseErrors(raw: z.infer<typeof assetErrorsSchema> | null | undefined): MuxAssetError | null {
  if (!raw || (!raw.type && !raw.messages?.length)) return null;
  return { type: raw.type ?? 'unknown', messages: raw.messages ?? [] };
}

function parseUnixSeconds(value: string | number | null | undefined): Date | null {
  return value === null || value === undefined ? null : new Date(Number(value) * 1000);
}

function normaliseStatus(status: string | null | undefined): MuxAssetStatus {
  return (muxAssetStatuses as readonly string[]).includes(status ?? '') ? (status as MuxAssetStatus) : 'preparing';
}

export interface AssetParseIssue {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/** Parses an asset from the API or a webhook; the issues when `raw` is not an asset or a field is out of bounds. */
export function safeParseMuxAsset(raw: unknown): { readonly asset: MuxAsset } | { readonly issues: readonly AssetParseIssue[] } {
  const parsed = assetSchema.safeParse(raw);
  if (!parsed.success) {
    return { issues: parsed.error.issues.map((issue) => ({ path: issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key)), message: issue.message })) };
  }
  return { asset: normaliseAsset(parsed.data) };
}

/** Parses an asset from the API or a webhook; null when `raw` is not an asset (no object, no id, a field out of bounds). */
export function parseMuxAsset(raw: unknown): MuxAsset | null {
  const parsed = safeParseMuxAsset(raw);
  return 'asset' in parsed ? parsed.asset : null;
}

function normaliseAsset(asset: z.infer<typeof assetSchema>): MuxAsset {
  return {
    id: asset.id,
    status: normaliseStatus(asset.status),
    playbackIds: (asset.playback_ids ?? []).map((playbackId) => ({ id: playbackId.id, policy: playbackId.policy ?? 'public' })),
    duration: asset.duration ?? null,
    aspectRatio: asset.aspect_ratio ?? null,
    passthrough: asset.passthrough ?? null,
    uploadId: asset.upload_id ?? null,
    tracks: (asset.tracks ?? []).map(normaliseTrack),
    staticRenditions: {
      status: asset.static_renditions?.status ?? null,
      files: (asset.static_renditions?.files ?? []).map(normaliseStaticRendition),
    },
    errors: normaliseErrors(asset.errors),
    createdAt: parseUnixSeconds(asset.created_at),
  };
}

/** Parses a track (a track webhook's `data`); null when empty or not an object. */
export function parseMuxTrack(raw: unknown): MuxTrack | null {
  const parsed = trackSchema.safeParse(raw);
  if (!parsed.success) return null;
  const track = normaliseTrack(parsed.data);
  return track.id === null && track.assetId === null ? null : track;
}

/** Parses a static rendition (a `video.asset.static_rendition.*` webhook's `data`); null when empty. */
export function parseMuxStaticRendition(raw: unknown): MuxStaticRendition | null {
  const parsed = staticRenditionSchema.safeParse(raw);
  if (!parsed.success) return null;
  const rendition = normaliseStaticRendition(parsed.data);
  return rendition.id === null && rendition.name === null && rendition.assetId === null ? null : rendition;
}

/** The first playback id with the given policy, falling back to any playback id. */
export function primaryPlaybackId(asset: MuxAsset, policy: MuxPlaybackPolicy = 'public'): string | null {
  return (asset.playbackIds.find((playbackId) => playbackId.policy === policy) ?? asset.playbackIds[0])?.id ?? null;
}

/** The English subtitles Mux generated from speech (reelay asks for exactly one such track). */
export function generatedTextTrack(asset: MuxAsset): MuxTrack | null {
  const generated = asset.tracks.filter((track) => track.type === 'text' && track.textSource === 'generated_vod');
  return generated.find((track) => track.languageCode === 'en') ?? generated[0] ?? null;
}

/** True when the `highest` MP4 static rendition can be downloaded. */
export function hasReadyHighestMp4(asset: MuxAsset): boolean {
  return asset.staticRenditions.files.some(
    (file) => (file.name === 'highest.mp4' || file.resolution === 'highest') && file.status === 'ready',
  );
}

/** `errors` as one line for the `mux_error` column: `type: message; message`. */
export function describeAssetError(error: MuxAssetError): string {
  return error.messages.length > 0 ? `${error.type}: ${error.messages.join('; ')}` : error.type;
}
