/**
 * Small pieces every route uses: Mux-shaped errors, JSON and body responses, the request body reader, Mux-like ids.
 */
import { randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CreateAssetBody } from './types.js';

/** An error the API answers as Mux does: `{ error: { type, messages } }` with `status`. */
export class MuxHttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly messages: string[],
  ) {
    super(messages.join('; '));
  }
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Mux ids are long base62 strings. */
export function muxId(length = 44): string {
  let id = '';
  for (let index = 0; index < length; index += 1) id += alphabet[randomInt(alphabet.length)];
  return id;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendBody(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function readJson(req: IncomingMessage): Promise<CreateAssetBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new MuxHttpError(413, 'invalid_parameters', ['The request body is too large']);
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as CreateAssetBody;
  } catch {
    throw new MuxHttpError(400, 'invalid_parameters', ['The request body must be a JSON object']);
  }
}
