/**
 * Sends one file the way the API says: a single presigned PUT, or a multipart upload with a few parts in flight at
 * once, each PUT retried on its own, and a resume that asks S3 (through the API) which parts it already holds.
 *
 * XMLHttpRequest, not fetch: only XHR reports upload progress in browsers.
 */
import { ApiError, type Api, type CompletedPart, type CreateUploadRequest, type VideoJson } from './api.js';
import { pendingUploads, type PendingUpload } from './resume-store.js';

export interface UploadListener {
  /** Bytes S3 has accepted so far (including parts done before a resume), out of the file's size. */
  progress(sent: number, total: number): void;
  /** A short sentence about what is happening, for the status line. */
  phase(message: string): void;
  /** The API created the video: it can be listed (and, for multipart, resumed) from now on. */
  created(video: VideoJson): void;
}

export type UploadOutcome = { readonly kind: 'done'; readonly videoId: string } | { readonly kind: 'cancelled'; readonly videoId: string | null };

class PutFailed extends Error {
  constructor(readonly status: number) {
    super(
      status === 0 ? 'the connection to storage failed'
        // The URL is signed with If-None-Match: *, so it writes once: the file is there already, or the upload was cancelled.
        : status === 412 ? 'storage already holds a file for this video (or its upload was cancelled)'
        : `storage answered ${status}`,
    );
  }
}

/** An attempt whose outcome is unknown: it may have stored the file before the answer was lost. */
const outcomeUnknown = (error: PutFailed) => error.status === 0 || error.status >= 500;

class Cancelled extends Error {}

const maxAttempts = 4;
const signBatch = 1_000;

/** Container types by extension, for files the browser gives no type (e.g. .mkv on many systems). */
const typesByExtension: Record<string, string> = {
  mp4: 'video/mp4', m4v: 'video/x-m4v', mov: 'video/quicktime', webm: 'video/webm', mkv: 'video/x-matroska',
  avi: 'video/x-msvideo', mpg: 'video/mpeg', mpeg: 'video/mpeg', ts: 'video/mp2t', ogv: 'video/ogg',
  '3gp': 'video/3gpp', '3g2': 'video/3gpp2', flv: 'video/x-flv', wmv: 'video/x-ms-wmv',
};

/** The type the browser reports, else one guessed from the extension; the API decides whether it is accepted. */
export function contentTypeOf(file: File): string {
  if (file.type) return file.type;
  const extension = file.name.split('.').pop()?.toLowerCase() ?? '';
  return typesByExtension[extension] ?? 'application/octet-stream';
}

function putWithProgress(url: string, body: Blob, headers: Record<string, string>, signal: AbortSignal, onProgress: (loaded: number) => void): Promise<string | null> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Cancelled());
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    // content-length is signed too, but a browser sets it from the body and refuses to have it set by hand.
    for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() !== 'content-length') xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve(xhr.getResponseHeader('ETag')) : reject(new PutFailed(xhr.status)));
    xhr.onerror = () => reject(new PutFailed(0));
    xhr.onabort = () => reject(new Cancelled());
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Cancelled())), { once: true });
  });

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index + 1);
}

export class Upload {
  readonly #api: Api;
  readonly #file: File;
  readonly #owner: string;
  readonly #concurrency: number;
  readonly #listener: UploadListener;
  readonly #controller = new AbortController();
  #videoId: string | null = null;

  constructor(options: { api: Api; file: File; owner: string; concurrency: number; listener: UploadListener }) {
    this.#api = options.api;
    this.#file = options.file;
    this.#owner = options.owner;
    this.#concurrency = options.concurrency;
    this.#listener = options.listener;
  }

  get videoId(): string | null {
    return this.#videoId;
  }

  /** A new video: the API picks single or multipart from the size. Rejections (type, size) throw its ApiError. */
  async start(request: Omit<CreateUploadRequest, 'filename' | 'contentType' | 'size'>): Promise<UploadOutcome> {
    this.#listener.phase('Asking the API where to upload…');
    const created = await this.#api.createUpload({ ...request, filename: this.#file.name, contentType: contentTypeOf(this.#file), size: this.#file.size });
    this.#videoId = created.video.id;
    const { upload } = created;
    if (upload.mode === 'multipart') pendingUploads.save(this.#pendingEntry(created.video));
    this.#listener.created(created.video);
    return this.#untilCancelled(async () => {
      if (upload.mode === 'single') {
        this.#listener.phase('Uploading in one request…');
        this.#listener.progress(0, this.#file.size);
        await this.#putOnce(upload.url, upload.headers);
        this.#listener.progress(this.#file.size, this.#file.size);
        return;
      }
      const urls = new Map(upload.parts.map((part) => [part.partNumber, part.url]));
      await this.#multipart(created.video.id, upload.partSize, upload.partCount, new Map(), urls);
    });
  }

  /** Picks up an unfinished multipart upload of this same file: only the parts S3 does not hold yet are sent. */
  async resume(entry: PendingUpload): Promise<UploadOutcome> {
    this.#videoId = entry.videoId;
    this.#listener.phase('Checking which parts already arrived…');
    let progress;
    try {
      progress = await this.#api.listParts(entry.videoId);
    } catch (error) {
      // Gone, finished or cancelled elsewhere: nothing left to resume.
      if (error instanceof ApiError && (error.status === 404 || error.status === 409)) pendingUploads.remove(entry.videoId);
      throw error;
    }
    const done = new Map(progress.parts.map((part) => [part.partNumber, part.etag]));
    this.#listener.phase(`Resuming: ${done.size} of ${progress.partCount} parts were already uploaded.`);
    return this.#untilCancelled(() => this.#multipart(entry.videoId, progress.partSize, progress.partCount, done, new Map()));
  }

  /** Stops every request in flight and tells the API, which aborts the S3 upload and marks the video cancelled. */
  async cancel(): Promise<void> {
    this.#controller.abort();
    if (this.#videoId === null) return;
    pendingUploads.remove(this.#videoId);
    await this.#api.cancelUpload(this.#videoId);
  }

  async #untilCancelled(work: () => Promise<void>): Promise<UploadOutcome> {
    try {
      await work();
    } catch (error) {
      if (error instanceof Cancelled || this.#controller.signal.aborted) return { kind: 'cancelled', videoId: this.#videoId };
      throw error;
    }
    return { kind: 'done', videoId: this.#videoId ?? '' };
  }

  #pendingEntry(video: VideoJson): PendingUpload {
    return {
      videoId: video.id,
      title: video.title,
      fileName: this.#file.name,
      fileSize: this.#file.size,
      lastModified: this.#file.lastModified,
      owner: this.#owner,
      startedAt: new Date().toISOString(),
    };
  }

  async #multipart(videoId: string, partSize: number, partCount: number, done: Map<number, string>, urls: Map<number, string>): Promise<void> {
    const size = this.#file.size;
    const partBytes = (partNumber: number) => Math.min(partSize, size - (partNumber - 1) * partSize);
    const queue = range(partCount).filter((partNumber) => !done.has(partNumber));
    let finishedBytes = [...done.keys()].reduce((sum, partNumber) => sum + partBytes(partNumber), 0);
    const inFlight = new Map<number, number>();
    const report = () => this.#listener.progress(finishedBytes + [...inFlight.values()].reduce((sum, bytes) => sum + bytes, 0), size);
    report();

    const sign = async (partNumbers: readonly number[]) => {
      for (let index = 0; index < partNumbers.length; index += signBatch) {
        const signed = await this.#api.signParts(videoId, partNumbers.slice(index, index + signBatch));
        for (const part of signed.parts) urls.set(part.partNumber, part.url);
      }
    };
    await sign(queue.filter((partNumber) => !urls.has(partNumber)));
    this.#listener.phase(`Uploading ${queue.length} of ${partCount} parts, ${this.#concurrency} at a time…`);

    const sendPart = async (partNumber: number) => {
      const start = (partNumber - 1) * partSize;
      const body = this.#file.slice(start, start + partBytes(partNumber));
      const etag = await this.#withRetries(
        () => putWithProgress(urls.get(partNumber) ?? '', body, {}, this.#controller.signal, (loaded) => (inFlight.set(partNumber, loaded), report())),
        // A URL past its expiry is refused with 403: sign the part again before the next try.
        (error) => (error.status === 403 ? sign([partNumber]) : undefined),
      );
      if (!etag) throw new Error(`Storage accepted part ${partNumber} but did not expose its ETag (check the bucket's CORS ExposeHeaders).`);
      inFlight.delete(partNumber);
      finishedBytes += body.size;
      done.set(partNumber, etag);
      report();
    };
    const worker = async () => {
      for (let partNumber = queue.shift(); partNumber !== undefined; partNumber = queue.shift()) await sendPart(partNumber);
    };
    try {
      await Promise.all(range(Math.min(this.#concurrency, queue.length)).map(worker));
    } catch (error) {
      // One part gave up: stop the others, keep the resume entry so a later attempt skips what arrived.
      if (!(error instanceof Cancelled)) this.#controller.abort();
      throw error;
    }

    this.#listener.phase('Finishing the upload…');
    const parts: CompletedPart[] = [...done.entries()].sort(([a], [b]) => a - b).map(([partNumber, etag]) => ({ partNumber, etag }));
    await this.#api.completeUpload(videoId, parts);
    pendingUploads.remove(videoId);
  }

  /**
   * The single PUT, retried like any other; its URL writes once, so a 412 after an attempt whose answer was lost
   * means that attempt stored the file: done.
   */
  async #putOnce(url: string, headers: Record<string, string>): Promise<void> {
    let mayHaveLanded = false;
    await this.#withRetries(async () => {
      try {
        return await putWithProgress(url, this.#file, headers, this.#controller.signal, (loaded) => this.#listener.progress(loaded, this.#file.size));
      } catch (error) {
        if (error instanceof PutFailed && error.status === 412 && mayHaveLanded) return null;
        if (error instanceof PutFailed && outcomeUnknown(error)) mayHaveLanded = true;
        throw error;
      }
    });
  }

  /**
   * Retries network failures, 5xx and S3's 409 ConditionalRequestConflict (a conflicting write meanwhile; S3 advises
   * to try again) with a growing pause; anything else (or the last failure) is thrown.
   */
  async #withRetries<T>(attempt: () => Promise<T>, beforeRetry?: (error: PutFailed) => Promise<void> | undefined): Promise<T> {
    for (let attemptNumber = 1; ; attemptNumber += 1) {
      try {
        return await attempt();
      } catch (error) {
        // A 403 is worth another try only when the URL can be signed again (a multipart part, not a single PUT).
        const retryable = error instanceof PutFailed && (outcomeUnknown(error) || error.status === 409 || (error.status === 403 && beforeRetry !== undefined));
        if (!retryable || attemptNumber >= maxAttempts) {
          throw error instanceof PutFailed ? new Error(`Upload to storage failed: ${error.message}.`) : error;
        }
        await sleep(500 * 2 ** (attemptNumber - 1), this.#controller.signal);
        await beforeRetry?.(error);
      }
    }
  }
}
