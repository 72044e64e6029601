/**
 * S3 object-created notifications delivered through SQS, as the ingest Lambda receives them.
 *
 * Each SQS message body is an S3 event notification (`{ "Records": [...] }`), or the one-off
 * `{"Service":"Amazon S3","Event":"s3:TestEvent",...}` S3 sends when the notification is configured, which carries
 * no object and is skipped. Object keys arrive URL-encoded with `+` for spaces and are decoded here.
 * Every message is judged on its own, so one malformed body fails only itself (its id goes to
 * `batchItemFailures`, and after the queue's maxReceiveCount to the DLQ) and never the whole batch.
 */
import * as z from '../zod.js';
import { ValidationError } from '../errors.js';
import type { ValidationIssue } from '../errors.js';

/** One object that now exists in S3, from one SQS message. */
export interface S3ObjectCreated {
  readonly messageId: string;
  readonly bucket: string;
  /** Decoded: exactly the key to pass to S3. */
  readonly key: string;
  readonly size: number;
  readonly eTag?: string;
  /** Hex; for the same key, a larger sequencer (compare after left-padding) is the later event. */
  readonly sequencer?: string;
  /** e.g. `ObjectCreated:Put`, `ObjectCreated:CompleteMultipartUpload`. */
  readonly eventName: string;
  readonly eventTime?: string;
}

/** What one SQS message turned out to be. */
export type S3SqsMessage =
  | { readonly kind: 'objects'; readonly messageId: string; readonly objects: readonly S3ObjectCreated[] }
  | { readonly kind: 'ignored'; readonly messageId: string; readonly reason: 'test_event' | 'not_object_created' }
  | { readonly kind: 'invalid'; readonly messageId: string; readonly error: ValidationError };

const sqsRecordSchema = z.object({
  messageId: z.string().check(z.minLength(1)),
  body: z.string(),
});

const sqsEventSchema = z.object({ Records: z.array(z.unknown()) });

const s3TestEventSchema = z.object({ Event: z.literal('s3:TestEvent') });

const s3RecordSchema = z.object({
  eventName: z.string().check(z.minLength(1)),
  eventTime: z.optional(z.string()),
  s3: z.object({
    bucket: z.object({ name: z.string().check(z.minLength(1)) }),
    object: z.object({
      key: z.string().check(z.minLength(1)),
      size: z.optional(z.number().check(z.int(), z.nonnegative())),
      eTag: z.optional(z.string()),
      sequencer: z.optional(z.string()),
    }),
  }),
});

const s3NotificationSchema = z.object({ Records: z.array(s3RecordSchema).check(z.minLength(1)) });

function issuesOf(error: z.core.$ZodError, prefix: ReadonlyArray<string | number>): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.filter((part): part is string | number => typeof part !== 'symbol')],
    message: issue.message,
  }));
}

/** S3 encodes keys in notifications like a form field (`+` is a space); a real `+` arrives as `%2B`. */
export function decodeS3EventKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new ValidationError(`Object key "${encoded}" is not valid URL encoding`, [{ path: ['s3', 'object', 'key'], message: 'bad percent-encoding' }]);
  }
}

/** The inverse of {@link decodeS3EventKey}, as S3 writes keys into notifications (slashes kept). */
export function encodeS3EventKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+').replace(/[!'()~]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** Parses one SQS message body. Throws {@link ValidationError} when it is not an S3 notification. */
export function parseS3NotificationBody(messageId: string, body: string): S3SqsMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ValidationError(`SQS message ${messageId} body is not JSON`, [{ path: ['body'], message: 'not JSON' }]);
  }
  if (s3TestEventSchema.safeParse(json).success) return { kind: 'ignored', messageId, reason: 'test_event' };
  const parsed = s3NotificationSchema.safeParse(json);
  if (!parsed.success) {
    throw new ValidationError(`SQS message ${messageId} is not an S3 event notification`, issuesOf(parsed.error, ['body']));
  }
  const created = parsed.data.Records.filter((record) => record.eventName.startsWith('ObjectCreated:'));
  if (created.length === 0) return { kind: 'ignored', messageId, reason: 'not_object_created' };
  const objects = created.map((record): S3ObjectCreated => {
    const { bucket, object } = record.s3;
    if (object.size === undefined) {
      throw new ValidationError(`SQS message ${messageId}: ${record.eventName} without an object size`, [{ path: ['body', 's3', 'object', 'size'], message: 'required' }]);
    }
    return {
      messageId,
      bucket: bucket.name,
      key: decodeS3EventKey(object.key),
      size: object.size,
      eventName: record.eventName,
      ...(object.eTag === undefined ? {} : { eTag: object.eTag }),
      ...(object.sequencer === undefined ? {} : { sequencer: object.sequencer }),
      ...(record.eventTime === undefined ? {} : { eventTime: record.eventTime }),
    };
  });
  return { kind: 'objects', messageId, objects };
}

/**
 * Parses an SQS event message by message. Throws {@link ValidationError} only when the event itself is not
 * SQS-shaped; a bad message becomes `{ kind: 'invalid' }` (with its own ValidationError) so the rest still run.
 */
export function parseS3SqsEvent(event: unknown): S3SqsMessage[] {
  const envelope = sqsEventSchema.safeParse(event);
  if (!envelope.success) throw new ValidationError('Not an SQS event', issuesOf(envelope.error, []));
  return envelope.data.Records.map((raw, index): S3SqsMessage => {
    const record = sqsRecordSchema.safeParse(raw);
    if (!record.success) {
      throw new ValidationError(`SQS record ${index} has no messageId or body`, issuesOf(record.error, ['Records', index]));
    }
    try {
      return parseS3NotificationBody(record.data.messageId, record.data.body);
    } catch (error) {
      if (error instanceof ValidationError) return { kind: 'invalid', messageId: record.data.messageId, error };
      throw error;
    }
  });
}

/** The object-created records of a parsed event, flattened (messages that were ignored or invalid contribute none). */
export function objectsCreated(messages: readonly S3SqsMessage[]): S3ObjectCreated[] {
  return messages.flatMap((message) => (message.kind === 'objects' ? message.objects : []));
}
