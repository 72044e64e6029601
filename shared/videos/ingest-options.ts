/**
 * The ingest options an uploader asks for (what Mux makes of the video), their defaults, and the two places they are
 * kept: the row's `mux_options` column and the S3 object's `x-amz-meta-reelay-options` metadata.
 */
import type { JsonValue } from '../db/driver.js';
import type { ObjectMetadata } from '../storage/uploads.js';

/** What the uploader asked Mux to do with the video. */
export interface IngestOptions {
  /** Generated subtitles (and, from them, captions and a transcript). */
  readonly captions: boolean;
  /** Mux's loudness normalisation. */
  readonly normalizeAudio: boolean;
  /** A downloadable MP4 static rendition. */
  readonly mp4: boolean;
}

/**
 * The S3 object metadata name (`x-amz-meta-reelay-options`) that carries the ingest options as JSON.
 *
 * Why the options live in S3 as well as in the row: on a legacy schema (no `mux_options` column) VideoDB can only
 * defer them, and the deferred-data table may not exist either. The object itself always can carry them, and ingest
 * reads the object anyway, so the options reach Mux whatever the schema. A single PUT gets them through a signed
 * `x-amz-meta-reelay-options` header the uploader must send (it is in the returned `headers`; S3 refuses the PUT
 * without it); a multipart upload gets them on CreateMultipartUpload, and S3 puts them on the completed object.
 */
export const ingestOptionsMetadataName = 'reelay-options';

export function ingestOptions(requested: Partial<IngestOptions> = {}): IngestOptions {
  return { captions: requested.captions ?? false, normalizeAudio: requested.normalizeAudio ?? false, mp4: requested.mp4 ?? false };
}

export function ingestOptionsToMetadata(options: IngestOptions): ObjectMetadata {
  return { [ingestOptionsMetadataName]: JSON.stringify(options) };
}

/** The options from an object's metadata (as HeadObject returns it), or undefined when absent or unreadable. */
export function ingestOptionsFromMetadata(metadata: Readonly<Record<string, string>> | undefined): IngestOptions | undefined {
  const raw = metadata?.[ingestOptionsMetadataName];
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const fields = parsed as Record<string, unknown>;
    const flag = (name: keyof IngestOptions) => (typeof fields[name] === 'boolean' ? (fields[name] as boolean) : undefined);
    return ingestOptions({
      ...(flag('captions') === undefined ? {} : { captions: flag('captions') }),
      ...(flag('normalizeAudio') === undefined ? {} : { normalizeAudio: flag('normalizeAudio') }),
      ...(flag('mp4') === undefined ? {} : { mp4: flag('mp4') }),
    });
  } catch {
    return undefined;
  }
}

/** Options as stored in `mux_options` (JSON), or undefined when the value is not an options object. */
export function ingestOptionsFromColumn(value: JsonValue | null): IngestOptions | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return ingestOptionsFromMetadata({ [ingestOptionsMetadataName]: JSON.stringify(value) });
}
