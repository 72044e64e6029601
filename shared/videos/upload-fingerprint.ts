/**
 * What an `Idempotency-Key` stands for: the whole create request, as reelay understood it.
 *
 * The fingerprint is the request with its defaults applied and its spellings normalised, the way the row stores it:
 * a title trimmed, a missing description as null, the content type lower-cased without parameters, every ingest
 * option present (`{}` is `{ captions: false, normalizeAudio: false, mp4: false }`). So a retry that spells the same
 * request differently (key order, an omitted `false`) is the same request, and one that would store or ingest
 * anything differently is not. Nothing is stored for it: the first request's fingerprint is read back from its row,
 * the one place every schema keeps (no migration, and no second write that could disagree with the row).
 *
 * The one gap: a row written on a schema without `mux_options` (the legacy 0001 table) has no options to compare.
 * There the options are not checked, and the replayed URL signs the retry's options into the object's metadata,
 * which is where ingest reads them on such a schema: what Mux gets is what the uploaded object says.
 */
import type { VideoRecord } from '../db/video-fields.js';
import type { ValidationIssue } from '../errors.js';
import { ingestOptionsFromColumn, type IngestOptions } from './ingest-options.js';

export interface UploadFingerprint {
  readonly title: string;
  readonly description: string | null;
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  /** Null when unknown (a row written without the `mux_options` column). */
  readonly options: IngestOptions | null;
}

/** The fingerprint of the request that created `video`. */
export function fingerprintOfVideo(video: VideoRecord): UploadFingerprint {
  return {
    title: video.title,
    description: video.description,
    filename: video.originalFilename,
    contentType: video.contentType,
    size: video.sizeBytes,
    options: ingestOptionsFromColumn(video.mux.options) ?? null,
  };
}

const scalarFields = ['title', 'description', 'filename', 'contentType', 'size'] as const;

/** The request fields in which `retry` differs from `first`, as validation-style issues (options name each flag). */
export function differingFields(first: UploadFingerprint, retry: UploadFingerprint): ValidationIssue[] {
  const message = 'differs from the request first made with this Idempotency-Key';
  const issues: ValidationIssue[] = scalarFields.filter((field) => first[field] !== retry[field]).map((field) => ({ path: [field], message }));
  if (first.options !== null && retry.options !== null) {
    const before = first.options;
    const after = retry.options;
    const flags = (Object.keys(before) as Array<keyof IngestOptions>).filter((flag) => before[flag] !== after[flag]);
    issues.push(...flags.map((flag) => ({ path: ['options', flag], message })));
  }
  return issues;
}
