/**
 * S3's conditional writes for the local S3 (s3rver ignores `If-None-Match` and `If-Match` on writes).
 *
 * What is emulated, after the Amazon S3 User Guide ("How to prevent object overwrites with conditional writes") and
 * the PutObject / CompleteMultipartUpload API references:
 * - `If-None-Match: *` on PutObject and CompleteMultipartUpload: the write fails with 412 `PreconditionFailed` when
 *   the key holds an object. The check happens when the write completes, so of several conditional writes of one key
 *   the first to finish wins and the later ones get 412.
 * - `If-Match: <etag>`: the write replaces the object only if its ETag is that one (412 otherwise), and fails with
 *   404 `NoSuchKey` when the key holds no object.
 * - A DELETE of the key that succeeds while a conditional write is still on its way fails that write with 409
 *   `ConditionalRequestConflict` (the SDK docs: "If a conflicting operation occurs during the upload S3 returns a
 *   409 ConditionalRequestConflict response").
 * - `If-None-Match` with any value but `*`, or both headers at once: 501 `NotImplemented`.
 *
 * Every decision for a key is taken under that key's lock, together with the commit to s3rver, so two writes can never
 * both see an empty key.
 */
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

export type Precondition =
  | { readonly kind: 'absent' }
  | { readonly kind: 'match'; readonly etag: string };

export interface S3Refusal {
  readonly status: 403 | 404 | 409 | 412 | 501;
  readonly code: string;
  readonly message: string;
  /** Extra elements of the XML error body, as S3 sends them (`Condition`, `Header`, `Key`). */
  readonly fields: Readonly<Record<string, string>>;
}

const refusal = (status: S3Refusal['status'], code: string, message: string, fields: Record<string, string> = {}): S3Refusal => ({ status, code, message, fields });

const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(',') : value);

/** The write's precondition, none, or the 501 S3 answers for a form it does not implement. */
export function preconditionOf(headers: IncomingHttpHeaders): { readonly precondition?: Precondition; readonly refusal?: S3Refusal } {
  const noneMatch = single(headers['if-none-match'])?.trim();
  const match = single(headers['if-match'])?.trim();
  const notImplemented = (header: string) =>
    refusal(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', { Header: header });
  if (noneMatch !== undefined && match !== undefined) return { refusal: notImplemented('If-Match') };
  if (noneMatch !== undefined) return noneMatch === '*' ? { precondition: { kind: 'absent' } } : { refusal: notImplemented('If-None-Match') };
  if (match !== undefined) return { precondition: { kind: 'match', etag: match } };
  return {};
}

const unquoted = (etag: string): string => etag.replace(/"/g, '').trim();

/** Why a write with `precondition` may not replace `existing` (the key's current object, or null), if it may not. */
export function preconditionRefusal(precondition: Precondition, existing: { readonly etag: string } | null, key: string): S3Refusal | undefined {
  const failed = (condition: string) =>
    refusal(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
  if (precondition.kind === 'absent') return existing === null ? undefined : failed('If-None-Match');
  if (existing === null) return refusal(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
  return unquoted(existing.etag) === unquoted(precondition.etag) ? undefined : failed('If-Match');
}

/**
 * The bucket policy the CDK app gives the upload bucket (infra/constructs/upload-bucket.ts, unconditionalWritesDenied):
 * a PutObject or CompleteMultipartUpload with neither `If-None-Match` nor `If-Match` is denied (403 AccessDenied)
 * unless its key matches `exceptKeys`, a pattern with the `*` (any characters) of an S3 resource ARN.
 */
export function unconditionalWriteRefusal(key: string, exceptKeys: string | undefined): S3Refusal | undefined {
  const exempt = exceptKeys !== undefined && new RegExp(`^${exceptKeys.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's').test(key);
  return exempt ? undefined : refusal(403, 'AccessDenied', 'Access Denied');
}

export const conflictRefusal = (): S3Refusal =>
  refusal(409, 'ConditionalRequestConflict', 'A conflicting conditional operation is currently in progress against this resource. Try again.');

/** A conditional write between its first byte and its answer. */
export interface PendingWrite {
  readonly key: string;
  /** Set when a DELETE of the key succeeded meanwhile: the write must answer 409. */
  conflicted: boolean;
}

/** A request body the front read itself, handed to s3rver in place of the request's own. */
export type ReplacementBody = Buffer | { readonly file: string; readonly size: number };

export interface ConditionalWritesOptions {
  /** s3rver's port on 127.0.0.1, asked directly (unsigned) what a key holds. */
  readonly innerPort: number;
  readonly bucket: string;
  /** Where conditional PUT bodies wait until they are complete. */
  readonly stagingDirectory: string;
  /** Forwards the request (with `body` instead of its own, if given) to s3rver; resolves with s3rver's status. */
  readonly forward: (request: IncomingMessage, response: ServerResponse, body?: ReplacementBody) => Promise<number>;
  /** Answers with S3's XML error body. */
  readonly refuse: (request: IncomingMessage, response: ServerResponse, refusal: S3Refusal) => void;
}

/** Conditional PutObject, conditional CompleteMultipartUpload and DELETE of one key, serialised per key. */
export class ConditionalWrites {
  readonly #options: ConditionalWritesOptions;
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #pending = new Map<string, Set<PendingWrite>>();
  #staged = 0;

  constructor(options: ConditionalWritesOptions) {
    this.#options = options;
  }

  /** Registers a write as soon as its request arrives, so a DELETE that lands before it completes is noticed. */
  begin(key: string): PendingWrite {
    const write: PendingWrite = { key, conflicted: false };
    const writes = this.#pending.get(key) ?? new Set<PendingWrite>();
    writes.add(write);
    this.#pending.set(key, writes);
    return write;
  }

  end(write: PendingWrite): void {
    const writes = this.#pending.get(write.key);
    writes?.delete(write);
    if (writes?.size === 0) this.#pending.delete(write.key);
  }

  /**
   * Judges `precondition` and, if it holds, runs `commit` (which forwards the write to s3rver), both under the key's
   * lock: the check happens once the write is complete, as in S3, and nothing writes the key between check and commit.
   */
  commit(request: IncomingMessage, response: ServerResponse, write: PendingWrite, precondition: Precondition, commit: () => Promise<unknown>): Promise<void> {
    return this.#exclusive(write.key, async () => {
      try {
        if (write.conflicted) return this.#options.refuse(request, response, conflictRefusal());
        const refusal = preconditionRefusal(precondition, await this.#currentObject(write.key), write.key);
        if (refusal !== undefined) return this.#options.refuse(request, response, refusal);
        await commit();
      } finally {
        // Inside the lock: a DELETE waiting for it must not mark a write that has already committed.
        this.end(write);
      }
    });
  }

  /** A PutObject with a precondition: the body is staged in full first, so the check sees the key as it is at the end. */
  async put(request: IncomingMessage, response: ServerResponse, key: string, precondition: Precondition): Promise<void> {
    const write = this.begin(key);
    this.#staged += 1;
    const file = path.join(this.#options.stagingDirectory, String(this.#staged));
    try {
      await pipeline(request, createWriteStream(file));
      const { size } = await stat(file);
      await this.commit(request, response, write, precondition, () => this.#options.forward(request, response, { file, size }));
    } finally {
      this.end(write);
      await rm(file, { force: true });
    }
  }

  /** A DELETE of an object, under the key's lock: its success fails the conditional writes still on their way (409). */
  delete(request: IncomingMessage, response: ServerResponse, key: string): Promise<void> {
    return this.#exclusive(key, async () => {
      const status = await this.#options.forward(request, response);
      if (status === 204) for (const write of this.#pending.get(key) ?? []) write.conflicted = true;
    });
  }

  /** Runs `work` alone for `key`: no other conditional write or delete of the key runs until it settles. */
  async #exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** The ETag of the object at `key`, or null when the key holds none. */
  #currentObject(key: string): Promise<{ etag: string } | null> {
    const objectPath = `/${encodeURIComponent(this.#options.bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
    return new Promise((resolve, reject) => {
      const head = http.request({ host: '127.0.0.1', port: this.#options.innerPort, method: 'HEAD', path: objectPath }, (answer) => {
        answer.resume();
        if (answer.statusCode === 404) resolve(null);
        else if (answer.statusCode === 200) resolve({ etag: String(answer.headers.etag ?? '') });
        else reject(new Error(`s3rver answered HEAD ${objectPath} with ${answer.statusCode}`));
      });
      head.on('error', reject);
      head.end();
    });
  }
}
