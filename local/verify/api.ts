/** The HTTP calls `npm run verify` makes, over global fetch, as any client of the API would make them. */

export interface ApiAnswer {
  readonly status: number;
  /** The parsed JSON body; undefined when it is empty or not JSON. */
  readonly body: unknown;
  readonly text: string;
}

/** The API (or the presigned URL's host) could not be reached at all: no answer, not even an error status. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    // Without the query: a presigned URL's signature has no place in a CI log.
    const { origin, pathname } = new URL(url);
    super(`${origin}${pathname}: ${reason}`);
  }
}

/** fetch's TypeError says only "fetch failed"; the socket's error (ECONNREFUSED 127.0.0.1:3100) is its cause. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code !== undefined && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export async function send(url: string, init: RequestInit, timeoutMs: number): Promise<ApiAnswer> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw new UnreachableError(url, `no answer within ${timeoutMs} ms`);
    throw new UnreachableError(url, networkReason(error));
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

export interface ApiClient {
  readonly baseUrl: string;
  request(method: string, path: string, options?: { readonly token?: string | null; readonly json?: unknown }): Promise<ApiAnswer>;
}

export function apiClient(baseUrl: string, timeoutMs: number): ApiClient {
  return {
    baseUrl,
    request(method, path, options = {}) {
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.json !== undefined) headers['content-type'] = 'application/json';
      const body = options.json === undefined ? undefined : JSON.stringify(options.json);
      return send(`${baseUrl}${path}`, { method, headers, ...(body !== undefined && { body }) }, timeoutMs);
    },
  };
}

/** reelay's error answers are `{ error: { code, message } }`; API Gateway's own are `{ message }`. */
export function describeAnswer(answer: ApiAnswer): string {
  const body = answer.body as { error?: { code?: unknown; message?: unknown }; message?: unknown } | undefined;
  if (body?.error && typeof body.error.message === 'string') return `${answer.status} ${String(body.error.code)}: ${body.error.message}`;
  if (typeof body?.message === 'string') return `${answer.status} ${body.message}`;
  const text = answer.text.length > 200 ? `${answer.text.slice(0, 200)}…` : answer.text;
  return text === '' ? String(answer.status) : `${answer.status} ${text}`;
}

/** API Gateway's answer for a route it does not have: `{ "message": … }` and nothing of reelay's `{ error }`. */
export function isGatewayRouteMissing(answer: ApiAnswer): boolean {
  if (answer.status !== 404 && answer.status !== 405) return false;
  const body = answer.body as Record<string, unknown> | undefined;
  return body !== undefined && typeof body.message === 'string' && !('error' in body);
}
