/**
 * A local EventBridge on loopback for `npm start` and the tests: the PutEvents operation on the AWS JSON 1.1 wire
 * protocol the unchanged `@aws-sdk/client-eventbridge` speaks (its endpoint overridden by EVENTBRIDGE_ENDPOINT), with
 * the service's validation and answers (wire.ts). Each accepted entry becomes the event envelope a rule's target
 * would receive, logged as one line, kept in memory (store.ts, served at `GET /_local/events` by the API Gateway
 * emulator) and, for source `reelay`, forwarded to EVENTS_FORWARD_URL when set (forwarder.ts).
 *
 * Authentication: a request needs an `Authorization` header of the SigV4 form (`AWS4-HMAC-SHA256 Credential=…`), as
 * the service rejects one without (MissingAuthenticationTokenException / IncompleteSignatureException, HTTP 403);
 * the signature itself is not verified yet (issue M).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOn } from '../listen.js';
import { silentLogger, type Logger } from '../../shared/log.js';
import { EventForwarder, type ForwarderState } from './forwarder.js';
import { EventBridgeStore, type EventBridgeFaults, type EventEnvelope, type EventFilter, type PutEventsCounters, type PutEventsFault, type ReceivedEvent } from './store.js';
import {
  AwsJsonError,
  busNameOf,
  checkEntry,
  checkRequestSize,
  errors,
  isResultEntry,
  jsonContentType,
  parsePutEventsBody,
  putEventsTarget,
  type PutEventsAnswer,
  type ResultEntry,
  type WireEntry,
} from './wire.js';

export type * from './store.js';
export type { ForwardAttempt, ForwarderState } from './forwarder.js';

/** The source the local forward rule matches (shared/events/video-events.ts's `eventSource`). */
export const forwardedSource = 'reelay';

export interface LocalEventBridgeOptions {
  readonly port?: number;
  readonly host?: string;
  /** The buses that exist; `default` always does (an entry without EventBusName goes there). */
  readonly buses?: readonly string[];
  readonly region: string;
  readonly account: string;
  /** Events kept in memory, the oldest dropped first. Default 10 000. */
  readonly capacity?: number;
  /** EVENTS_FORWARD_URL: every event of source `reelay` is POSTed there. */
  readonly forwardUrl?: string;
  readonly forwardRetryDelaysMs?: readonly number[];
  readonly logger?: Logger;
}

export interface LocalEventBridge {
  /** `http://127.0.0.1:<port>`: EVENTBRIDGE_ENDPOINT. */
  readonly endpoint: string;
  readonly buses: readonly string[];
  /** The envelopes received, oldest first. */
  events(filter?: EventFilter): EventEnvelope[];
  /** `events()` filtered by `/_local/events`'s query (`since`, `videoId`, `detail-type`, `source`); RangeError on a bad one. */
  eventsMatching(query: URLSearchParams): EventEnvelope[];
  /** The same, with the bus and the time each was received. */
  received(filter?: EventFilter): ReceivedEvent[];
  /** Forgets the events received so far; returns how many there were. */
  clear(): number;
  readonly faults: EventBridgeFaults;
  readonly counters: Readonly<PutEventsCounters>;
  /** The forward rule's deliveries; null without EVENTS_FORWARD_URL. */
  readonly forwarding: ForwarderState | null;
  /** Resolves when the forward rule has nothing left to send. */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

/** A request body bigger than any valid PutEvents (256 KiB of entries, JSON-escaped at worst ×6) is refused unread. */
const maxBodyBytes = 2 * 1024 * 1024;
/** Query parameters of `/_local/events` → filter fields. */
const filterParameters = { since: 'since', videoId: 'videoId', 'detail-type': 'detailType', source: 'source' } as const;

/** The filter of a `/_local/events?since=…&videoId=…&detail-type=…&source=…` query; throws on a bad `since`. */
export function eventFilterFromQuery(query: URLSearchParams): EventFilter {
  const filter: Record<string, string> = {};
  for (const [parameter, field] of Object.entries(filterParameters)) {
    const value = query.get(parameter);
    if (value !== null && value !== '') filter[field] = value;
  }
  if (filter.since !== undefined && !Number.isFinite(Date.parse(filter.since))) throw new RangeError(`since must be an ISO 8601 time, got ${JSON.stringify(filter.since)}`);
  return filter;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw errors.validation('Total size of the entries in the request is over the limit.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function checkAuthorization(request: IncomingMessage): void {
  const header = request.headers.authorization;
  if (header === undefined || header === '') throw errors.missingAuthentication();
  if (!/^AWS4-HMAC-SHA256 Credential=[^,]+, ?SignedHeaders=[^,]+, ?Signature=[0-9a-f]+$/.test(header)) {
    throw errors.incompleteSignature(`Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters (AWS4-HMAC-SHA256). Authorization=${header.split(' ')[0] ?? ''}`);
  }
}

/** An injected whole-call failure: a 500 for the internal errors, a 400 for the others (ThrottlingException's status). */
function injectedCallError(code: string): AwsJsonError {
  if (code === 'ThrottlingException') return errors.throttling();
  if (code === 'InternalException' || code === 'InternalFailure') return new AwsJsonError(500, code, 'An internal error occurred.');
  return new AwsJsonError(400, code, 'Injected failure of the local EventBridge.');
}

/** EventBridge's `time`: ISO 8601 to the second. */
const envelopeTime = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const logger = options.logger ?? silentLogger;
  const buses = [...new Set(['default', ...(options.buses ?? [])])];
  const store = new EventBridgeStore(options.capacity ?? 10_000);
  const forwarder = options.forwardUrl === undefined
    ? null
    : new EventForwarder({ url: options.forwardUrl, logger, ...(options.forwardRetryDelaysMs && { retryDelaysMs: options.forwardRetryDelaysMs }) });

  function accept(entries: readonly WireEntry[], fault: PutEventsFault | undefined): PutEventsAnswer {
    const receivedAt = new Date();
    const failedIndexes = fault && fault.whole === false ? new Set(fault.entries ?? entries.map((_, index) => index)) : new Set<number>();
    const results: ResultEntry[] = entries.map((entry, index) => {
      const checked = checkEntry(entry, receivedAt);
      if (isResultEntry(checked)) return checked;
      if (failedIndexes.has(index)) return { ErrorCode: fault?.code ?? 'ThrottlingException', ErrorMessage: 'Injected failure of the local EventBridge.' };
      const event: EventEnvelope = {
        version: '0',
        id: randomUUID(),
        'detail-type': checked.detailType,
        source: checked.source,
        account: options.account,
        time: envelopeTime(checked.time),
        region: options.region,
        resources: checked.resources,
        detail: checked.detail,
      };
      store.add({ bus: checked.busName, receivedAt: receivedAt.toISOString(), event });
      const { detail } = checked;
      logger.info('eventbridge.event', {
        bus: checked.busName,
        id: event.id,
        source: event.source,
        detailType: event['detail-type'],
        ...(typeof detail.videoId === 'string' && { videoId: detail.videoId }),
        ...(typeof detail.status === 'string' && { status: detail.status }),
        ...(typeof detail.eventId === 'string' && { eventId: detail.eventId }),
      });
      if (forwarder && event.source === forwardedSource) forwarder.forward(event);
      return { EventId: event.id };
    });
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    store.counters.acceptedEntries += results.length - failed;
    store.counters.failedEntries += failed;
    return { FailedEntryCount: failed, Entries: results };
  }

  async function putEvents(request: IncomingMessage): Promise<PutEventsAnswer> {
    checkAuthorization(request);
    const target = request.headers['x-amz-target'];
    if (target !== putEventsTarget) throw errors.unknownOperation(String(target ?? ''));
    const contentType = request.headers['content-type']?.split(';')[0]?.trim();
    if (contentType !== jsonContentType) throw errors.serialization(`Content-Type must be ${jsonContentType}, got ${JSON.stringify(contentType ?? '')}.`);
    store.counters.calls += 1;
    try {
      const entries = parsePutEventsBody(await readBody(request));
      checkRequestSize(entries);
      const unknownBus = entries.map(busNameOf).find((name) => !buses.includes(name));
      if (unknownBus !== undefined) throw errors.busNotFound(unknownBus);
      const fault = store.takeFault();
      if (fault && fault.whole !== false) {
        if (fault.afterAccepting) accept(entries, undefined);
        throw injectedCallError(fault.code ?? 'ThrottlingException');
      }
      return accept(entries, fault);
    } catch (error) {
      store.counters.failedCalls += 1;
      throw error;
    }
  }

  function send(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': jsonContentType, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
    response.end(text);
  }

  const server = createServer((request, response) => {
    const work = request.method === 'POST' && (request.url ?? '/').split('?')[0] === '/'
      ? putEvents(request)
      : Promise.reject(errors.unknownOperation(`${request.method ?? ''} ${request.url ?? ''}`));
    work.then(
      (answer) => send(response, 200, answer),
      (error: unknown) => {
        if (error instanceof AwsJsonError) {
          logger.info('eventbridge.put_events_error', { type: error.type, status: error.status, message: error.message });
          send(response, error.status, { __type: error.type, message: error.message });
          return;
        }
        logger.error('eventbridge.internal_error', { error });
        if (!response.headersSent) send(response, 500, { __type: 'InternalException', message: 'An internal error occurred.' });
      },
    );
  });
  const { origin: endpoint } = await listenOn(server, options.port ?? 0, options.host ?? '127.0.0.1');
  logger.info('eventbridge.started', { endpoint, buses, forwardUrl: options.forwardUrl ?? null });

  return {
    endpoint,
    buses,
    events: (filter) => store.list(filter).map((received) => received.event),
    eventsMatching: (query) => store.list(eventFilterFromQuery(query)).map((received) => received.event),
    received: (filter) => store.list(filter),
    clear: () => store.clear(),
    faults: store.faults,
    counters: store.counters,
    forwarding: forwarder?.state ?? null,
    whenIdle: async () => {
      await forwarder?.whenIdle();
    },
    async close() {
      await forwarder?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
