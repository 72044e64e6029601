import type * as z from '../zod.js';
import {
  MalformedJsonError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
  type ValidationIssue,
} from '../errors.js';
import type { HttpEvent } from './types.js';

/** Header names lower-cased (API Gateway already does; a direct invocation or test event may not). */
export function lowercaseHeaders(headers: HttpEvent['headers'] | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) result[name.toLowerCase()] = value;
  }
  return result;
}

/** The body as bytes: API Gateway base64-encodes bodies whose content type it does not consider text. */
export function bodyBytes(event: HttpEvent): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

export function assertBodyWithinLimit(byteLength: number, maxBodyBytes: number): void {
  if (byteLength > maxBodyBytes) {
    throw new PayloadTooLargeError(`The request body is ${byteLength} bytes; the limit for this route is ${maxBodyBytes} bytes.`);
  }
}

const jsonContentType = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** Parses a JSON body. A missing content type is accepted (curl users forget it); a different one is refused. */
export function parseJsonBody(rawBody: string, contentType: string | undefined): unknown {
  if (contentType !== undefined && !jsonContentType.test(contentType)) {
    throw new UnsupportedMediaTypeError(`The request body must be JSON (Content-Type: application/json), not ${contentType}.`);
  }
  if (rawBody.trim().length === 0) throw new ValidationError('A JSON request body is required.', [{ path: [], message: 'Required' }]);
  try {
    return JSON.parse(rawBody);
  } catch (error) {
    throw new MalformedJsonError(`The request body is not valid JSON: ${(error as Error).message}`);
  }
}

export type RequestPart = 'request body' | 'path parameters' | 'query parameters';

function issuePath(path: readonly PropertyKey[]): Array<string | number> {
  return path.map((key) => (typeof key === 'symbol' ? String(key) : key));
}

/** Validates one part of the request, naming every offending field in the message and in `details`. */
export function validateRequestPart<S extends z.ZodMiniType>(schema: S, value: unknown, part: RequestPart): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details: ValidationIssue[] = result.error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }));
  const summary = details.map(({ path, message }) => (path.length > 0 ? `${path.join('.')}: ${message}` : message)).join('; ');
  throw new ValidationError(`Invalid ${part}: ${summary}`, details);
}
