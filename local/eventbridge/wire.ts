/**
 * EventBridge's PutEvents on the wire, as the SDK speaks it: the AWS JSON 1.1 protocol (POST /, `X-Amz-Target:
 * AWSEvents.PutEvents`, `Content-Type: application/x-amz-json-1.1`), the request's validation as the service does it,
 * and its answers — `{ FailedEntryCount, Entries }` in request order, or an error body whose `__type` names the
 * exception (the SDK reads `__type` first: @smithy/core's loadJsonRpcErrorCode).
 *
 * Sources: the API reference (PutEvents, PutEventsRequestEntry, PutEventsResultEntry, Common Errors), the quota page
 * (10 entries, 256 KiB a request, the entry-size rule) and the SDK's schema of the operation (Time is a timestamp in
 * epoch seconds, the JSON protocols' default format).
 */

export const putEventsTarget = 'AWSEvents.PutEvents';
export const jsonContentType = 'application/x-amz-json-1.1';
export const maxEntries = 10;
export const maxRequestEntryBytes = 256 * 1024;

/** A whole-call failure: HTTP status and the exception's name as `__type`. */
export class AwsJsonError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export const errors = {
  /** What AWS answers a request without an Authorization header (or presigned query). */
  missingAuthentication: () => new AwsJsonError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token'),
  /** An Authorization header that is not a SigV4 one (its signature is not checked locally: issue M). */
  incompleteSignature: (reason: string) => new AwsJsonError(403, 'IncompleteSignatureException', reason),
  unknownOperation: (target: string) =>
    new AwsJsonError(400, 'UnknownOperationException', `The local EventBridge answers only ${putEventsTarget}, not ${JSON.stringify(target)}.`),
  serialization: (message: string) => new AwsJsonError(400, 'SerializationException', message),
  validation: (message: string) => new AwsJsonError(400, 'ValidationException', message),
  busNotFound: (name: string) => new AwsJsonError(400, 'ResourceNotFoundException', `Event bus ${name} does not exist.`),
  throttling: () => new AwsJsonError(400, 'ThrottlingException', 'Rate exceeded'),
  internal: () => new AwsJsonError(500, 'InternalException', 'An internal error occurred.'),
} as const;

/** An entry as the request carries it: anything may be missing or of the wrong type. */
export interface WireEntry {
  readonly Source?: unknown;
  readonly DetailType?: unknown;
  readonly Detail?: unknown;
  readonly EventBusName?: unknown;
  readonly Resources?: unknown;
  readonly Time?: unknown;
  readonly TraceHeader?: unknown;
}

export type ResultEntry = { readonly EventId: string } | { readonly ErrorCode: string; readonly ErrorMessage: string };

export interface PutEventsAnswer {
  readonly FailedEntryCount: number;
  readonly Entries: readonly ResultEntry[];
}

/** An entry that passed the per-entry checks. */
export interface AcceptedEntry {
  readonly source: string;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
  readonly busName: string;
  readonly resources: readonly string[];
  /** The entry's Time, else the call's. */
  readonly time: Date;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The request's own checks, before any entry is looked at: the header, the body, the entry list. */
export function parsePutEventsBody(text: string): WireEntry[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw errors.serialization('The request body is not valid JSON.');
  }
  if (!isRecord(body)) throw errors.serialization('The request body must be a JSON object.');
  const entries = body.Entries;
  // Coral's constraint messages, as the service words them.
  if (entries === undefined || entries === null) throw errors.validation("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  if (!Array.isArray(entries)) throw errors.serialization("Entries must be a list.");
  if (entries.length < 1) throw errors.validation("1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1");
  if (entries.length > maxEntries) {
    throw errors.validation(`1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${maxEntries}`);
  }
  if (!entries.every(isRecord)) throw errors.serialization('Every entry must be a JSON object.');
  return entries as WireEntry[];
}

const utf8Bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value) : 0);

/**
 * The quota page's rule: Time counts 14 bytes when given; Source, DetailType, Detail and each Resources string
 * their UTF-8 bytes. EventBusName and TraceHeader do not count.
 */
export function wireEntrySize(entry: WireEntry): number {
  const resources = Array.isArray(entry.Resources) ? entry.Resources.reduce<number>((sum, resource) => sum + utf8Bytes(resource), 0) : 0;
  return (entry.Time === undefined || entry.Time === null ? 0 : 14) + utf8Bytes(entry.Source) + utf8Bytes(entry.DetailType) + utf8Bytes(entry.Detail) + resources;
}

export function checkRequestSize(entries: readonly WireEntry[]): void {
  const total = entries.reduce((sum, entry) => sum + wireEntrySize(entry), 0);
  if (total > maxRequestEntryBytes) throw errors.validation('Total size of the entries in the request is over the limit.');
}

/** An entry's bus name: the name, or the name inside a bus ARN; `default` when unset. */
export function busNameOf(entry: WireEntry): string {
  const value = typeof entry.EventBusName === 'string' && entry.EventBusName.length > 0 ? entry.EventBusName : 'default';
  const arn = /^arn:aws[a-z-]*:events:[^:]*:\d*:event-bus\/(.+)$/.exec(value);
  return arn?.[1] ?? value;
}

const missing = (field: string): ResultEntry => ({ ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.` });
const malformedDetail: ResultEntry = { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };

/**
 * The per-entry checks, which fail that entry only: Source, DetailType and Detail are required (a rule can only
 * route an event that has them), and Detail must be a JSON object ("A valid JSON object"). `receivedAt` stands in
 * for a missing Time, as the API reference says ("the time stamp of the PutEvents call is used").
 */
export function checkEntry(entry: WireEntry, receivedAt: Date): AcceptedEntry | ResultEntry {
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    const value = entry[field];
    if (typeof value !== 'string' || value.length === 0) return missing(field);
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail as string);
  } catch {
    return malformedDetail;
  }
  if (!isRecord(detail)) return malformedDetail;
  const resources = Array.isArray(entry.Resources) ? entry.Resources.filter((value): value is string => typeof value === 'string') : [];
  return {
    source: entry.Source as string,
    detailType: entry.DetailType as string,
    detail,
    busName: busNameOf(entry),
    resources,
    time: entryTime(entry.Time) ?? receivedAt,
  };
}

/** The SDK sends Time as epoch seconds (a number, with fractions); other clients may send an ISO string. */
function entryTime(value: unknown): Date | undefined {
  const date = typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : undefined;
  return date !== undefined && Number.isFinite(date.getTime()) ? date : undefined;
}

export function isResultEntry(value: AcceptedEntry | ResultEntry): value is ResultEntry {
  return 'ErrorCode' in value || 'EventId' in value;
}
