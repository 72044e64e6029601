/**
 * One file, end to end: create (with an Idempotency-Key, so a retried or resumed create lands on the same video),
 * then a single PUT or the parts in parallel, then complete. Every step that may be repeated is retried with
 * backoff; a resumed upload sends only the parts S3 does not hold yet.
 */
import type { ReelayClient } from './client.js';
import { ReelayApiError, ReelayNetworkError, StorageError, UploadAbortedError } from './errors.js';
import { fileFingerprint, type ResumeEntry, type ResumeStore } from './resume.js';
import { defaultTransport, type PutTransport } from './transport.js';
import type { CompletedPart, CreatedUpload, IngestOptions, MultipartUploadStart, SinglePutUpload, Video } from './types.js';

/** A browser `File`, or any `Blob` (Node: `fs.openAsBlob(path)`) with a name given in the options. */
export type UploadInput = Blob & { readonly name?: string; readonly lastModified?: number };

export interface UploadProgressEvent {
  /** Bytes S3 holds or is receiving, parts done before a resume included. */
  readonly sent: number;
  readonly total: number;
}

export interface UploadOptions {
  readonly title: string;
  readonly description?: string | null;
  readonly options?: IngestOptions;
  /** Default: the file's name. */
  readonly filename?: string;
  /** Default: the file's type, else one guessed from the name's extension. */
  readonly contentType?: string;
  /** Stops the upload; what then happens to it is `onAbort`. */
  readonly signal?: AbortSignal;
  /** `cancel` (default): the upload is cancelled at the API too. `pause`: it is kept, to resume later. */
  readonly onAbort?: 'cancel' | 'pause';
  /** Remembers the upload until it completes, so a later call with the same file resumes it. */
  readonly resumeStore?: ResumeStore;
  /** What names "the same file" in the store; default: name, size, lastModified and type. */
  readonly resumeKey?: string;
  /** The Idempotency-Key of a new upload; default: a random UUID. */
  readonly idempotencyKey?: string;
  /** Parts in flight at once (default 4). */
  readonly concurrency?: number;
  /** Default: XMLHttpRequest in browsers (byte-level progress), fetch elsewhere. */
  readonly transport?: PutTransport;
  readonly onProgress?: (progress: UploadProgressEvent) => void;
  /** The video exists (new or resumed); from now on it is listed, and an interrupted upload can be resumed. */
  readonly onCreated?: (video: Video, details: { readonly resumed: boolean }) => void;
}

/** Container types by extension, for files a browser gives no type (e.g. .mkv on many systems). */
const typesByExtension: Readonly<Record<string, string>> = {
  mp4: 'video/mp4', m4v: 'video/x-m4v', mov: 'video/quicktime', webm: 'video/webm', mkv: 'video/x-matroska',
  avi: 'video/x-msvideo', mpg: 'video/mpeg', mpeg: 'video/mpeg', ts: 'video/mp2t', ogv: 'video/ogg',
  '3gp': 'video/3gpp', '3g2': 'video/3gpp2', flv: 'video/x-flv', wmv: 'video/x-ms-wmv',
};

/** The file's own type, else one guessed from its extension; the API decides whether it is accepted. */
export function contentTypeFor(file: { readonly name?: string; readonly type?: string }): string {
  if (file.type) return file.type;
  const extension = file.name?.split('.').pop()?.toLowerCase() ?? '';
  return typesByExtension[extension] ?? 'application/octet-stream';
}

const signBatch = 1_000;
/** Statuses of a PUT whose outcome is unknown or that S3 asks to repeat (409 ConditionalRequestConflict). */
const putRetryable = (status: number) => status === 0 || status >= 500 || status === 409;
/** Answers that leave a completion's outcome unknown. */
const unknownOutcome = (error: unknown) => error instanceof ReelayNetworkError || (error instanceof ReelayApiError && error.status >= 500);

export async function uploadFile(client: ReelayClient, file: UploadInput, options: UploadOptions): Promise<Video> {
  const filename = options.filename ?? file.name;
  if (!filename) throw new TypeError('upload: the file has no name; pass `filename`.');
  const controller = new AbortController();
  const stop = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  const run = new UploadRun(client, file, { ...options, filename }, controller.signal);
  try {
    return await run.start();
  } catch (error) {
    if (!options.signal?.aborted) throw error;
    const mode = options.onAbort ?? 'cancel';
    if (mode === 'cancel') await run.cancel();
    throw new UploadAbortedError(run.videoId, mode);
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

class UploadRun {
  videoId: string | null = null;
  readonly #transport: PutTransport;
  readonly #key: string;

  constructor(
    private readonly client: ReelayClient,
    private readonly file: UploadInput,
    private readonly options: UploadOptions & { readonly filename: string },
    private readonly signal: AbortSignal,
  ) {
    this.#transport = options.transport ?? defaultTransport(client.connection.fetch);
    this.#key = options.resumeKey ?? fileFingerprint({ ...file, name: options.filename, size: file.size, type: file.type });
  }

  async start(): Promise<Video> {
    this.signal.throwIfAborted();
    const store = this.options.resumeStore;
    const saved = await store?.get(this.#key);
    if (saved) {
      const resumed = await this.#create(saved).catch((error: unknown) => this.#afterFailedResume(saved, error));
      if (resumed) return resumed;
    }
    const entry: ResumeEntry = {
      idempotencyKey: this.options.idempotencyKey ?? crypto.randomUUID(),
      videoId: null,
      title: this.options.title,
      filename: this.options.filename,
      size: this.file.size,
      startedAt: new Date().toISOString(),
    };
    // Saved before the create: if its answer is lost with the page, the same key still finds the video.
    await store?.set(this.#key, entry);
    return this.#create(entry);
  }

  /** Cancels at the API what this run created (harmless when nothing was, or it is gone already). */
  async cancel(): Promise<void> {
    await this.options.resumeStore?.delete(this.#key);
    if (this.videoId === null) return;
    await this.client.abortUpload(this.videoId).catch(() => undefined);
  }

  /** Creates (or, with a saved key, re-creates) the upload and sends the file. */
  async #create(entry: ResumeEntry): Promise<Video> {
    const created = await this.client.createUpload(
      {
        title: this.options.title,
        ...(this.options.description !== undefined && { description: this.options.description }),
        filename: this.options.filename,
        contentType: this.options.contentType ?? contentTypeFor({ name: this.options.filename, type: this.file.type }),
        size: this.file.size,
        ...(this.options.options && { options: this.options.options }),
      },
      { idempotencyKey: entry.idempotencyKey, signal: this.signal },
    );
    this.videoId = created.video.id;
    if (entry.videoId !== created.video.id) await this.options.resumeStore?.set(this.#key, { ...entry, videoId: created.video.id });
    this.options.onCreated?.(created.video, { resumed: created.replayed });
    const video = await this.#send(created);
    await this.options.resumeStore?.delete(this.#key);
    return video;
  }

  /**
   * A saved upload the API will not resume: done already (return it), or changed, cancelled or deleted (forget it and
   * start again). Anything else (network, 5xx, 401) is thrown: the entry stays for the next try.
   */
  async #afterFailedResume(saved: ResumeEntry, error: unknown): Promise<Video | undefined> {
    if (!(error instanceof ReelayApiError) || (error.status !== 409 && error.status !== 404)) throw error;
    if (saved.videoId !== null && error.status === 409) {
      const video = await this.client.getVideo(saved.videoId, { signal: this.signal }).catch(() => undefined);
      if (video && video.status !== 'awaiting_upload' && video.status !== 'cancelled' && video.status !== 'deleting') {
        await this.options.resumeStore?.delete(this.#key);
        return video;
      }
      // A different file or title under the old key: the old upload is abandoned, not left waiting.
      if (video?.status === 'awaiting_upload') await this.client.abortUpload(saved.videoId).catch(() => undefined);
    }
    await this.options.resumeStore?.delete(this.#key);
    this.videoId = null;
    return undefined;
  }

  async #send(created: CreatedUpload & { readonly replayed: boolean }): Promise<Video> {
    const { upload, video } = created;
    if (upload.mode === 'single') {
      await this.#putSingle(upload);
      // The file is stored; S3's object-created event moves the video on from here (uploaded, processing, ready).
      return video;
    }
    return this.#multipart(video.id, upload, created.replayed);
  }

  /** The URL writes once (If-None-Match: *): a 412 means the object is there, from an earlier attempt or run. */
  async #putSingle(upload: SinglePutUpload): Promise<void> {
    const total = this.file.size;
    this.#progress(0);
    const answer = await this.#put(upload.url, this.file, upload.headers, (loaded) => this.#progress(loaded));
    if (answer.status === 412) {
      const video = await this.client.getVideo(this.videoId ?? '', { signal: this.signal });
      if (video.status === 'cancelled' || video.status === 'deleting') throw new StorageError(412, `The upload of video ${video.id} was cancelled.`);
    }
    this.#progress(total);
  }

  async #multipart(videoId: string, upload: MultipartUploadStart, resumed: boolean): Promise<Video> {
    const { partSize, partCount } = upload;
    const size = this.file.size;
    const partBytes = (partNumber: number) => Math.min(partSize, size - (partNumber - 1) * partSize);
    const done = new Map<number, string>();
    if (resumed) for (const part of (await this.client.listParts(videoId, { signal: this.signal })).parts) done.set(part.partNumber, part.etag);
    const urls = new Map(upload.parts.map((part) => [part.partNumber, part.url]));
    const queue = Array.from({ length: partCount }, (_, index) => index + 1).filter((partNumber) => !done.has(partNumber));

    let finished = [...done.keys()].reduce((sum, partNumber) => sum + partBytes(partNumber), 0);
    const inFlight = new Map<number, number>();
    const report = () => this.#progress(finished + [...inFlight.values()].reduce((sum, bytes) => sum + bytes, 0));
    report();

    const sign = async (partNumbers: readonly number[]) => {
      for (let index = 0; index < partNumbers.length; index += signBatch) {
        const signed = await this.client.signParts(videoId, partNumbers.slice(index, index + signBatch), { signal: this.signal });
        for (const part of signed.parts) urls.set(part.partNumber, part.url);
      }
    };
    await sign(queue.filter((partNumber) => !urls.has(partNumber)));

    const parts = new AbortController();
    const onStop = () => parts.abort(this.signal.reason);
    this.signal.addEventListener('abort', onStop, { once: true });
    const sendPart = async (partNumber: number) => {
      const start = (partNumber - 1) * partSize;
      const body = this.file.slice(start, start + partBytes(partNumber));
      const answer = await this.#put(
        () => urls.get(partNumber) ?? '',
        body,
        {},
        (loaded) => (inFlight.set(partNumber, loaded), report()),
        // A URL past its expiry is refused with 403: sign the part again before the next try.
        () => sign([partNumber]),
        parts.signal,
      );
      if (!answer.etag) throw new StorageError(answer.status, `Storage accepted part ${partNumber} but did not expose its ETag (the bucket's CORS must expose ETag).`);
      inFlight.delete(partNumber);
      finished += body.size;
      done.set(partNumber, answer.etag);
      report();
    };
    const worker = async () => {
      for (let partNumber = queue.shift(); partNumber !== undefined; partNumber = queue.shift()) await sendPart(partNumber);
    };
    try {
      const workers = Math.max(1, Math.min(this.options.concurrency ?? 4, queue.length));
      await Promise.all(Array.from({ length: workers }, worker));
    } catch (error) {
      // One part gave up: stop the others; the resume entry stays, so a later try skips what arrived.
      parts.abort(error);
      throw error;
    } finally {
      this.signal.removeEventListener('abort', onStop);
    }

    const completed: CompletedPart[] = [...done].sort(([a], [b]) => a - b).map(([partNumber, etag]) => ({ partNumber, etag }));
    return this.#complete(videoId, completed);
  }

  /** Completes, retrying a lost answer; a 409 after one means an earlier try completed it. */
  async #complete(videoId: string, parts: readonly CompletedPart[]): Promise<Video> {
    const { retry } = this.client.connection;
    let mayHaveCompleted = false;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.client.completeUpload(videoId, parts, { signal: this.signal });
      } catch (error) {
        if (mayHaveCompleted && error instanceof ReelayApiError && error.status === 409) {
          const video = await this.client.getVideo(videoId, { signal: this.signal });
          if (video.status !== 'awaiting_upload' && video.status !== 'cancelled') return video;
        }
        if (!unknownOutcome(error) || attempt >= retry.attempts) throw error;
        mayHaveCompleted = true;
        await retry.sleep(retry.delay(attempt), this.signal);
      }
    }
  }

  /** One PUT with retries; with `resign`, a 403 (an expired URL) is signed again and tried again. */
  async #put(
    url: string | (() => string),
    body: Blob,
    headers: Readonly<Record<string, string>>,
    onProgress: (loaded: number) => void,
    resign?: () => Promise<void>,
    signal: AbortSignal = this.signal,
  ): Promise<{ status: number; etag: string | null }> {
    const { retry } = this.client.connection;
    for (let attempt = 1; ; attempt += 1) {
      let status: number;
      let etag: string | null = null;
      try {
        const answer = await this.#transport({ url: typeof url === 'function' ? url() : url, body, headers, signal, onProgress });
        ({ status, etag } = answer);
      } catch (error) {
        if (signal.aborted) throw error;
        status = 0;
      }
      if (status >= 200 && status < 300) return { status, etag };
      // A write-once URL (If-None-Match: *) answers 412 when the object is there: an earlier attempt or run stored it.
      if (status === 412 && headers['if-none-match'] === '*') return { status, etag };
      const expired = status === 403 && resign !== undefined;
      const retryable = putRetryable(status) || expired;
      if (!retryable || attempt >= retry.attempts) {
        throw new StorageError(status, status === 0 ? 'Upload to storage failed: the connection failed.' : `Upload to storage failed: storage answered ${status}.`);
      }
      await retry.sleep(retry.delay(attempt), signal);
      if (expired) await resign();
    }
  }

  #progress(sent: number): void {
    this.options.onProgress?.({ sent, total: this.file.size });
  }
}
