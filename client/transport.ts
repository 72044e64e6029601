/**
 * How a file's bytes reach S3: one PUT to a presigned URL. Browsers get XMLHttpRequest, the only API that reports
 * upload progress; elsewhere (Node, workers) fetch, which reports a part only once it is done.
 */

export interface PutRequest {
  readonly url: string;
  readonly body: Blob;
  /** The signed headers. `content-length` is left to the transport, which sets it from the body. */
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /** Bytes of `body` sent so far. */
  readonly onProgress?: (loaded: number) => void;
}

export interface PutAnswer {
  readonly status: number;
  /** The part's ETag (the bucket's CORS must expose it to browsers). */
  readonly etag: string | null;
}

/** Sends one PUT; rejects only when no answer arrived (connection failure) or `signal` aborted. */
export type PutTransport = (request: PutRequest) => Promise<PutAnswer>;

const withoutContentLength = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-length'));

export function fetchTransport(fetchFunction: typeof fetch = (input, init) => fetch(input, init)): PutTransport {
  return async ({ url, body, headers, signal, onProgress }) => {
    const response = await fetchFunction(url, { method: 'PUT', body, headers: withoutContentLength(headers), signal });
    // The body is read to free the connection; S3's error XML is not needed here.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) onProgress?.(body.size);
    return { status: response.status, etag: response.headers.get('etag') };
  };
}

/** The part of XMLHttpRequest used here, declared so the client compiles without the DOM library. */
interface Xhr {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  getResponseHeader(name: string): string | null;
  send(body: Blob): void;
  abort(): void;
  readonly status: number;
  readonly upload: { onprogress: ((event: { readonly loaded: number }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}

const xhrConstructor = () => (globalThis as { XMLHttpRequest?: new () => Xhr }).XMLHttpRequest;

export function xhrTransport(): PutTransport {
  return ({ url, body, headers, signal, onProgress }) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const XhrClass = xhrConstructor();
      if (!XhrClass) return reject(new TypeError('xhrTransport: XMLHttpRequest is not available here; use fetchTransport'));
      const xhr = new XhrClass();
      xhr.open('PUT', url);
      for (const [name, value] of Object.entries(withoutContentLength(headers))) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (event) => onProgress?.(event.loaded);
      xhr.onload = () => resolve({ status: xhr.status, etag: xhr.getResponseHeader('ETag') });
      xhr.onerror = () => reject(new TypeError('the connection to storage failed'));
      xhr.onabort = () => reject(signal.reason);
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(body);
    });
}

/** XMLHttpRequest where there is one (browsers), else fetch. */
export function defaultTransport(fetchFunction?: typeof fetch): PutTransport {
  return xhrConstructor() ? xhrTransport() : fetchTransport(fetchFunction);
}
