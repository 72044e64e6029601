/**
 * Every route of the HTTP API (functions/routes.json), one method each, typed with the API's wire shapes.
 */
import { Connection, type ConnectionOptions } from './http.js';
import { uploadFile, type UploadInput, type UploadOptions } from './upload.js';
import type {
  CompletedPart,
  CreatedUpload,
  CreateUploadRequest,
  DeleteOutcome,
  DeletionWait,
  JsonObject,
  SignedParts,
  UploadProgress,
  Video,
  VideoChanges,
  VideoPage,
} from './types.js';

export type ReelayClientOptions = ConnectionOptions;

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface CreateUploadOptions extends CallOptions {
  /**
   * Makes the create safe to retry: the same key (1–255 visible ASCII characters) answers with the same video.
   * Without one, a create whose answer was lost is not retried.
   */
  readonly idempotencyKey?: string;
}

const videoPath = (id: string) => `/api/videos/${encodeURIComponent(id)}`;

export class ReelayClient {
  readonly connection: Connection;

  constructor(options: ReelayClientOptions) {
    this.connection = new Connection(options);
  }

  /** `POST /api/videos/upload`: a new video and where to upload its file. `replayed` when the idempotency key was seen. */
  async createUpload(request: CreateUploadRequest, options: CreateUploadOptions = {}): Promise<CreatedUpload & { readonly replayed: boolean }> {
    const answer = await this.connection.request<CreatedUpload>({
      method: 'POST',
      path: '/api/videos/upload',
      body: request,
      idempotent: options.idempotencyKey !== undefined,
      ...(options.idempotencyKey !== undefined && { headers: { 'idempotency-key': options.idempotencyKey } }),
      ...(options.signal && { signal: options.signal }),
    });
    return { ...answer.body, replayed: answer.headers.get('idempotent-replayed') === 'true' };
  }

  /** `POST /api/videos/{id}/upload/parts`: presigned URLs for these parts of a multipart upload (signing is repeatable). */
  async signParts(videoId: string, partNumbers: readonly number[], options: CallOptions = {}): Promise<SignedParts> {
    return this.#body({ method: 'POST', path: `${videoPath(videoId)}/upload/parts`, body: { partNumbers }, idempotent: true, ...options });
  }

  /** `GET /api/videos/{id}/upload/parts`: the parts S3 already holds, to resume. */
  async listParts(videoId: string, options: CallOptions = {}): Promise<UploadProgress> {
    return this.#body({ method: 'GET', path: `${videoPath(videoId)}/upload/parts`, ...options });
  }

  /** `POST /api/videos/{id}/upload/complete`. Not retried here: {@link upload} knows how to tell a lost answer from a refusal. */
  async completeUpload(videoId: string, parts: readonly CompletedPart[], options: CallOptions = {}): Promise<Video> {
    const body = await this.#body<{ video: Video }>({ method: 'POST', path: `${videoPath(videoId)}/upload/complete`, body: { parts }, ...options });
    return body.video;
  }

  /** `DELETE /api/videos/{id}/upload`: cancels an upload still in progress (repeating it is harmless). */
  async abortUpload(videoId: string, options: CallOptions = {}): Promise<void> {
    await this.connection.request({ method: 'DELETE', path: `${videoPath(videoId)}/upload`, ...options });
  }

  /** `GET /api/videos/{id}` (signed playback URLs carry fresh tokens). */
  async getVideo(videoId: string, options: CallOptions = {}): Promise<Video> {
    return (await this.#body<{ video: Video }>({ method: 'GET', path: videoPath(videoId), ...options })).video;
  }

  /** `GET /api/videos`: one page, newest first (`limit` 1–100, default 20). */
  async listVideos(page: { readonly cursor?: string | null; readonly limit?: number } = {}, options: CallOptions = {}): Promise<VideoPage> {
    const query = new URLSearchParams();
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    if (page.cursor) query.set('cursor', page.cursor);
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.#body({ method: 'GET', path: `/api/videos${suffix}`, ...options });
  }

  /** Every video, page after page: `for await (const video of client.videos()) …`. */
  async *videos(page: { readonly limit?: number } = {}, options: CallOptions = {}): AsyncGenerator<Video, void, undefined> {
    let cursor: string | null = null;
    do {
      const answer: VideoPage = await this.listVideos({ ...page, cursor }, options);
      yield* answer.videos;
      cursor = answer.nextCursor;
    } while (cursor !== null);
  }

  /** `PATCH /api/videos/{id}`: a new title, description or both. */
  async updateVideo(videoId: string, changes: VideoChanges, options: CallOptions = {}): Promise<Video> {
    return (await this.#body<{ video: Video }>({ method: 'PATCH', path: videoPath(videoId), body: changes, idempotent: true, ...options })).video;
  }

  /** `DELETE /api/videos/{id}`: the video, its asset and its file; `deleting` when part of that must wait. */
  async deleteVideo(videoId: string, options: CallOptions = {}): Promise<DeleteOutcome> {
    const answer = await this.connection.request<{ video: Video; waitingFor: DeletionWait } | undefined>({
      method: 'DELETE',
      path: videoPath(videoId),
      ...options,
    });
    return answer.status === 202 && answer.body ? { result: 'deleting', video: answer.body.video, waitingFor: answer.body.waitingFor } : { result: 'deleted' };
  }

  /** `GET /api/database/health` (public): `{ status: 'ok' }`, or throws with the 503. */
  async health(options: CallOptions = {}): Promise<JsonObject> {
    return this.#body({ method: 'GET', path: '/api/database/health', ...options });
  }

  /** `GET /api/database/health/details` (admin): the full report, also when it says unhealthy (503). */
  async healthDetails(options: CallOptions = {}): Promise<JsonObject> {
    return this.#body({ method: 'GET', path: '/api/database/health/details', acceptStatuses: [503], ...options });
  }

  /** `GET /api/database/run-mux-migration` (admin): which migrations are applied and pending. */
  async migrationStatus(options: CallOptions = {}): Promise<JsonObject> {
    return this.#body({ method: 'GET', path: '/api/database/run-mux-migration', ...options });
  }

  /** `POST /api/database/run-mux-migration` (admin): applies the pending migrations (repeatable: applied ones are skipped). */
  async applyMigrations(options: CallOptions = {}): Promise<JsonObject> {
    return this.#body({ method: 'POST', path: '/api/database/run-mux-migration', idempotent: true, ...options });
  }

  /** `GET /api/debug/video-diagnostics` (admin). */
  async videoDiagnostics(options: CallOptions = {}): Promise<JsonObject> {
    return this.#body({ method: 'GET', path: '/api/debug/video-diagnostics', ...options });
  }

  /**
   * Uploads a file end to end — create, a single PUT or parts in parallel, complete — resuming an earlier attempt of
   * the same file from `resumeStore`. Resolves with the video once the upload is complete (it then goes on to
   * `ready` on its own: poll {@link getVideo} or listen for the `Video Ready` event).
   */
  upload(file: UploadInput, options: UploadOptions): Promise<Video> {
    return uploadFile(this, file, options);
  }

  async #body<T>(request: Parameters<Connection['request']>[0]): Promise<T> {
    return (await this.connection.request<T>(request)).body;
  }
}
