/**
 * One request to the API: the bearer token, JSON in and out, failures as typed errors, and retries of requests that
 * are safe to repeat (network failures, 429 and 5xx).
 */
import { errorFromBody, ReelayNetworkError, type ReelayApiError } from './errors.js';
import { resolveRetry, retryAfterMs, type ResolvedRetry, type RetryPolicy, type RetryTools } from './retry.js';

/** A token, or a function that returns the current one (e.g. refreshed by the app's sign-in library). */
export type TokenSource = string | (() => string | null | undefined | Promise<string | null | undefined>);

export interface ConnectionOptions {
  /** The API's base URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com` or `http://localhost:3000`. */
  readonly baseUrl: string;
  /** The caller's JWT. Omit for the public routes only. */
  readonly token?: TokenSource;
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Retries of API calls that are safe to repeat. */
  readonly retry?: RetryPolicy;
  readonly retryTools?: RetryTools;
  /** Called on a 401, e.g. to send the user to sign in again. */
  readonly onUnauthorized?: (error: ReelayApiError) => void;
}

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** May the request be sent again after an answer was lost? (GETs and DELETEs always may.) */
  readonly idempotent?: boolean;
  /** Statuses answered with a body that is returned, not thrown (e.g. health details' 503). */
  readonly acceptStatuses?: readonly number[];
  readonly signal?: AbortSignal;
}

export interface ApiAnswer<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

const retryableStatus = (status: number) => status === 429 || status === 500 || status === 502 || status === 503 || status === 504;

export class Connection {
  readonly baseUrl: string;
  readonly retry: ResolvedRetry;
  readonly #options: ConnectionOptions;
  readonly #fetch: typeof fetch;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    // Bound late, so a fetch patched after the client was made (tests, polyfills) is the one used.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.retry = resolveRetry(options.retry, options.retryTools);
  }

  get fetch(): typeof fetch {
    return this.#fetch;
  }

  async request<T>(request: ApiRequest): Promise<ApiAnswer<T>> {
    const idempotent = request.idempotent ?? (request.method === 'GET' || request.method === 'DELETE');
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.#once<T>(request);
      const last = !idempotent || attempt >= this.retry.attempts;
      if (outcome.kind === 'answer') return outcome.answer;
      if (last || (outcome.kind === 'error' && !retryableStatus(outcome.error.status))) throw outcome.error;
      await this.retry.sleep(this.retry.delay(attempt, outcome.kind === 'error' ? outcome.retryAfterMs : undefined), request.signal);
    }
  }

  async #once<T>(request: ApiRequest): Promise<
    | { kind: 'answer'; answer: ApiAnswer<T> }
    | { kind: 'error'; error: ReelayApiError; retryAfterMs: number | undefined }
    | { kind: 'network'; error: ReelayNetworkError }
  > {
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    const token = await this.#token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(`${this.baseUrl}${request.path}`, {
        method: request.method,
        headers,
        ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
        ...(request.signal && { signal: request.signal }),
      });
    } catch (cause) {
      if (request.signal?.aborted) throw request.signal.reason;
      return { kind: 'network', error: new ReelayNetworkError(`${request.method} ${request.path}: the API could not be reached`, { cause }) };
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.ok || request.acceptStatuses?.includes(response.status)) {
      return { kind: 'answer', answer: { status: response.status, headers: response.headers, body: body as T } };
    }
    const error = errorFromBody(response.status, body);
    if (response.status === 401) this.#options.onUnauthorized?.(error);
    return { kind: 'error', error, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
  }

  async #token(): Promise<string | null | undefined> {
    const { token } = this.#options;
    return typeof token === 'function' ? token() : token;
  }
}
