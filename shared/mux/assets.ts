/**
 * Mux's asset, track and static-rendition objects as reelay uses them: one normalised, camelCase shape whether the
 * object came from the REST API (`GET /video/v1/assets/{id}`) or from a webhook's `data`.
 *
 * Parsing is lenient on purpose: Mux adds fields often and omits many (a `video.asset.track.ready` event has been
 * seen with empty data), so everything but the asset id is optional and unknown fields are ignored. A payload that is
 * not an object at all, or an asset without an id, fails to parse.
 */
import * as z from 'zod';

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

const optionalString = z.string().nullish();

/** Mux sends `created_at` as a string of Unix seconds in the API and as a number in webhooks. */
const unixSeconds = z.union([z.string(), z.number()]).nullish();

const trackSchema = z.looseObject({
  id: optionalString,
  type: optionalString,
  status: optionalString,
  text_source: optionalString,
  language_code: optionalString,
  name: optionalString,
  asset_id: optionalString,
});

const staticRenditionSchema = z.looseObject({
  id: optionalString,
  name: optionalString,
  resolution: optionalString,
  status: optionalString,
  asset_id: optionalString,
});

const assetErrorsSchema = z.looseObject({
  type: optionalString,
  messages: z.array(z.string()).nullish(),
});

const assetSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string().nullish(),
  playback_ids: z.array(z.looseObject({ id: z.string(), policy: optionalString })).nullish(),
  duration: z.number().nullish(),
  aspect_ratio: optionalString,
  passthrough: optionalString,
  upload_id: optionalString,
  tracks: z.array(trackSchema).nullish(),
  static_renditions: z.looseObject({ status: optionalString, files: z.array(staticRenditionSchema).nullish() }).nullish(),
  errors: assetErrorsSchema.nullish(),
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
  if (value === null || value === undefined) return null;
  const seconds = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(seconds) ? new Date(seconds * 1000) : null;
}

function normaliseStatus(status: string | null | undefined): MuxAssetStatus {
  return (muxAssetStatuses as readonly string[]).includes(status ?? '') ? (status as MuxAssetStatus) : 'preparing';
}

/** Parses an asset from the API or a webhook; null when `raw` is not an asset (no object, no id). */
export function parseMuxAsset(raw: unknown): MuxAsset | null {
  const parsed = assetSchema.safeParse(raw);
  if (!parsed.success) return null;
  const asset = parsed.data;
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
