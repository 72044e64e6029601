/**
 * What the client throws. The API answers failures as `{ error: { code, message, details? } }` (API Gateway's own
 * refusals as `{ message }`); both become a {@link ReelayApiError} with the HTTP status.
 */

/** The codes the API answers with (the server's own union is checked against this one at compile time). */
export const apiErrorCodes = [
  'validation_failed', 'malformed_json', 'payload_too_large', 'unsupported_media_type', 'not_found', 'unauthorized', 'forbidden',
  'conflict', 'database_error', 'database_unavailable', 'data_api_request_failed', 'migration_failed', 'mux_api_error',
  'playback_signing_unavailable', 'config_invalid', 'mux_config_invalid',
] as const;

export type ApiErrorCode = (typeof apiErrorCodes)[number];

export interface ErrorDetail {
  readonly path?: ReadonlyArray<string | number>;
  readonly message: string;
}

export class ReelayApiError extends Error {
  override readonly name = 'ReelayApiError';

  constructor(
    readonly status: number,
    /** The API's error code, or `http_<status>` for an answer without one (API Gateway's own refusals). */
    readonly code: ApiErrorCode | `http_${number}`,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
  }

  /** The message with the field-level details, for showing to a person. */
  describe(): string {
    const details = this.details.map((detail) => (detail.path?.length ? `${detail.path.join('.')}: ${detail.message}` : detail.message));
    return [this.message, ...details.filter((detail) => !this.message.includes(detail))].join(' — ');
  }
}

/** The request never got an answer (DNS, refused connection, reset, CORS refusal in a browser). */
export class ReelayNetworkError extends Error {
  override readonly name = 'ReelayNetworkError';
}

/** Storage (S3) refused an upload request; `status` 0 when the connection failed. */
export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The upload was stopped through its `AbortSignal`. */
export class UploadAbortedError extends Error {
  override readonly name = 'AbortError';

  constructor(
    /** The video the upload was for, once the API had created it. */
    readonly videoId: string | null,
    /** `cancel`: the upload was also cancelled at the API; `pause`: it can be resumed. */
    readonly mode: 'cancel' | 'pause',
  ) {
    super(mode === 'cancel' ? 'The upload was cancelled.' : 'The upload was paused.');
  }
}

export function errorFromBody(status: number, body: unknown): ReelayApiError {
  const record = isRecord(body) ? body : {};
  const error = isRecord(record.error) ? record.error : undefined;
  if (error && typeof error.message === 'string') {
    const details = Array.isArray(error.details) ? error.details.filter((detail): detail is ErrorDetail => isRecord(detail) && typeof detail.message === 'string') : [];
    const code = typeof error.code === 'string' && (apiErrorCodes as readonly string[]).includes(error.code) ? (error.code as ApiErrorCode) : (`http_${status}` as const);
    return new ReelayApiError(status, code, error.message, details);
  }
  const message = typeof record.message === 'string' ? record.message : `The API answered ${status}.`;
  return new ReelayApiError(status, status === 401 ? 'unauthorized' : `http_${status}`, message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
