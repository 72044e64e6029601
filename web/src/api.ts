/**
 * The HTTP API as the console calls it. Every failure becomes an {@link ApiError} carrying the API's own message
 * (`{ error: { code, message, details } }`), or API Gateway's (`{ message }`), so the page can show it as is.
 */
import type { VideoJson } from '../../shared/videos/presenter.js';
import type { CreateUploadInput, CreatedUpload, UploadProgress } from '../../shared/videos/upload-service.js';
import type { CompletedPart, SignedParts } from '../../shared/storage/uploads.js';

/** Answers 503 with a full body while the database is unreachable: shown, not thrown. */
const healthDetailsPath = '/api/database/health/details';

export type { VideoJson, CreatedUpload, UploadProgress, CompletedPart, SignedParts };

export interface ErrorDetail {
  readonly path?: ReadonlyArray<string | number>;
  readonly message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The message with the field-level details, for showing to the user. */
  describe(): string {
    const details = this.details.map((detail) => (detail.path?.length ? `${detail.path.join('.')}: ${detail.message}` : detail.message));
    return [this.message, ...details.filter((detail) => !this.message.includes(detail))].join(' — ');
  }
}

/** `POST /api/videos/upload`'s body: the upload service's own input type. */
export type CreateUploadRequest = CreateUploadInput;

export interface VideoPage {
  readonly videos: VideoJson[];
  readonly nextCursor: string | null;
}

/** What `PATCH /api/videos/{id}` accepts: at least one of the two. */
export interface VideoChanges {
  readonly title?: string;
  readonly description?: string | null;
}

/** Admin answers are shown as they come; only the fields the page acts on are named. */
export type JsonObject = Record<string, unknown>;

function errorFromBody(status: number, body: unknown): ApiError {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const error = typeof record.error === 'object' && record.error !== null ? (record.error as Record<string, unknown>) : undefined;
  if (error && typeof error.message === 'string') {
    const details = Array.isArray(error.details) ? (error.details as ErrorDetail[]).filter((detail) => typeof detail?.message === 'string') : [];
    return new ApiError(status, typeof error.code === 'string' ? error.code : 'error', error.message, details);
  }
  const message = typeof record.message === 'string' ? record.message : `The API answered ${status}`;
  return new ApiError(status, status === 401 ? 'unauthorized' : 'error', message);
}

export class Api {
  constructor(
    private readonly baseUrl: string,
    private readonly token: () => string | null,
    /** Called on a 401, so the page can ask the user to sign in again. */
    private readonly onUnauthorized: () => void = () => {},
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
    } catch {
      throw new ApiError(0, 'network', 'The API could not be reached. Is the server running?');
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok && !(response.status === 503 && path === healthDetailsPath)) {
      if (response.status === 401) this.onUnauthorized();
      throw errorFromBody(response.status, parsed);
    }
    return parsed as T;
  }

  createUpload(request: CreateUploadRequest): Promise<CreatedUpload> {
    return this.request('POST', '/api/videos/upload', request);
  }

  signParts(videoId: string, partNumbers: readonly number[]): Promise<SignedParts> {
    return this.request('POST', `/api/videos/${encodeURIComponent(videoId)}/upload/parts`, { partNumbers });
  }

  listParts(videoId: string): Promise<UploadProgress> {
    return this.request('GET', `/api/videos/${encodeURIComponent(videoId)}/upload/parts`);
  }

  completeUpload(videoId: string, parts: readonly CompletedPart[]): Promise<{ video: VideoJson }> {
    return this.request('POST', `/api/videos/${encodeURIComponent(videoId)}/upload/complete`, { parts });
  }

  cancelUpload(videoId: string): Promise<void> {
    return this.request('DELETE', `/api/videos/${encodeURIComponent(videoId)}/upload`);
  }

  /** Deletes the video: undefined when everything is gone (204), the video still `deleting` when part must wait (202). */
  async deleteVideo(videoId: string): Promise<VideoJson | undefined> {
    const answer = await this.request<{ video: VideoJson } | undefined>('DELETE', `/api/videos/${encodeURIComponent(videoId)}`);
    return answer?.video;
  }

  /** `PATCH /api/videos/{id}`: the given fields change (a null description clears it); the answer is the video. */
  editVideo(videoId: string, changes: VideoChanges): Promise<{ video: VideoJson }> {
    return this.request('PATCH', `/api/videos/${encodeURIComponent(videoId)}`, changes);
  }

  listVideos(cursor?: string | null, limit = 24): Promise<VideoPage> {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    return this.request('GET', `/api/videos?${query}`);
  }

  getVideo(videoId: string): Promise<{ video: VideoJson }> {
    return this.request('GET', `/api/videos/${encodeURIComponent(videoId)}`);
  }

  /** The full health check (admin only): the public /api/database/health says no more than "ok". */
  health(): Promise<JsonObject> {
    return this.request('GET', healthDetailsPath);
  }

  migrationStatus(): Promise<JsonObject> {
    return this.request('GET', '/api/database/run-mux-migration');
  }

  applyMigrations(): Promise<JsonObject> {
    return this.request('POST', '/api/database/run-mux-migration');
  }

  diagnostics(): Promise<JsonObject> {
    return this.request('GET', '/api/debug/video-diagnostics');
  }
}
