/**
 * The local EventBridge (local/eventbridge) driven by the real @aws-sdk/client-eventbridge, as the functions reach it,
 * and by reelay's EventBridgePublisher (shared/events/eventbridge-publisher.ts), whose retries it exercises: the SDK
 * must parse every answer (success, partial failure, each error) as it parses AWS's.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EventBridgeClient,
  InternalException,
  PutEventsCommand,
  ResourceNotFoundException,
  ThrottlingException,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../shared/log.js';
import { EventBridgePublisher } from '../../shared/events/eventbridge-publisher.js';
import type { EventBusSettings } from '../../shared/events/config.js';
import { detailTypes, type EventStatus, type VideoEvent } from '../../shared/events/video-events.js';
import { startLocalEventBridge, type LocalEventBridge, type LocalEventBridgeOptions } from '../../local/eventbridge/server.js';

const credentials = { accessKeyId: 'local-key', secretAccessKey: 'local-secret' };
const bus = 'reelay-test';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: Partial<LocalEventBridgeOptions> = {}): Promise<{ eventBridge: LocalEventBridge; client: EventBridgeClient }> {
  const eventBridge = await startLocalEventBridge({ buses: [bus], region: 'us-east-1', account: '000000000000', ...options });
  const client = new EventBridgeClient({ region: 'us-east-1', endpoint: eventBridge.endpoint, credentials, maxAttempts: 1 });
  cleanups.push(async () => {
    client.destroy();
    await eventBridge.close();
  });
  return { eventBridge, client };
}

const entry = (overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  Source: 'reelay',
  DetailType: 'Video Ready',
  Detail: JSON.stringify({ videoId: 'v-1', status: 'ready' }),
  EventBusName: bus,
  ...overrides,
});

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(work: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number }; $fault?: string }> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('local EventBridge: PutEvents through the SDK', () => {
  it('accepts entries in request order and keeps each as an EventBridge envelope, oldest first', async () => {
    const { eventBridge, client } = await start();
    const time = new Date('2026-12-03T10:00:00.750Z');
    const answer = await client.send(new PutEventsCommand({
      Entries: [
        entry({ Time: time, Resources: ['arn:aws:s3:::bucket/key'] }),
        entry({ DetailType: 'Video Deleted', Detail: '{"videoId":"v-2","status":"deleted"}', EventBusName: `arn:aws:events:us-east-1:000000000000:event-bus/${bus}` }),
        entry({ Source: 'someone.else', EventBusName: undefined }),
      ],
    }));

    expect(answer.FailedEntryCount).toBe(0);
    expect(answer.Entries).toHaveLength(3);
    const ids = answer.Entries?.map((result) => result.EventId) ?? [];
    expect(new Set(ids).size).toBe(3);
    const events = eventBridge.events();
    expect(events.map((event) => event.id)).toEqual(ids);
    expect(events[0]).toEqual({
      version: '0',
      id: ids[0],
      'detail-type': 'Video Ready',
      source: 'reelay',
      account: '000000000000',
      time: '2026-12-03T10:00:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:s3:::bucket/key'],
      detail: { videoId: 'v-1', status: 'ready' },
    });
    // Without Time, the call's time; the ARN form names the same bus; no EventBusName is the default bus.
    expect(Date.parse(events[1]?.time ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(eventBridge.received().map((received) => received.bus)).toEqual([bus, bus, 'default']);
    expect(eventBridge.events({ videoId: 'v-2' }).map((event) => event['detail-type'])).toEqual(['Video Deleted']);
    expect(eventBridge.counters).toMatchObject({ calls: 1, failedCalls: 0, acceptedEntries: 3, failedEntries: 0 });
  });

  it('fails only the invalid entries, as EventBridge does: required fields, Detail a JSON object', async () => {
    const { eventBridge, client } = await start();
    const answer = await client.send(new PutEventsCommand({
      Entries: [
        entry({ Source: undefined }),
        entry(),
        entry({ DetailType: '' }),
        entry({ Detail: 'not json' }),
        entry({ Detail: '[1, 2]' }),
        entry({ Detail: undefined }),
      ],
    }));

    expect(answer.FailedEntryCount).toBe(5);
    expect(answer.Entries?.map((result) => result.ErrorCode ?? 'ok')).toEqual(['InvalidArgument', 'ok', 'InvalidArgument', 'MalformedDetail', 'MalformedDetail', 'InvalidArgument']);
    expect(answer.Entries?.[0]?.ErrorMessage).toBe('Parameter Source is not valid. Reason: Source is a required argument.');
    expect(answer.Entries?.[5]?.ErrorMessage).toBe('Parameter Detail is not valid. Reason: Detail is a required argument.');
    expect(answer.Entries?.[1]?.EventId).toEqual(expect.any(String));
    expect(eventBridge.events()).toHaveLength(1);
  });

  it('refuses a whole call over the limits with ValidationException, as the SDK surfaces it', async () => {
    const { eventBridge, client } = await start();
    const tooMany = await rejection(client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) })));
    expect(tooMany.name).toBe('ValidationException');
    expect(tooMany.$metadata?.httpStatusCode).toBe(400);
    expect(tooMany.message).toMatch(/length less than or equal to 10/);

    const none = await rejection(client.send(new PutEventsCommand({ Entries: [] })));
    expect(none.name).toBe('ValidationException');

    // 256 KiB counts Source + DetailType + Detail (+ 14 for Time): two entries of 132 000 bytes of detail are over.
    const big = JSON.stringify({ text: 'x'.repeat(132_000) });
    const tooLarge = await rejection(client.send(new PutEventsCommand({ Entries: [entry({ Detail: big }), entry({ Detail: big })] })));
    expect(tooLarge.name).toBe('ValidationException');
    expect(tooLarge.message).toBe('Total size of the entries in the request is over the limit.');
    // Exactly at the limit is accepted.
    const fits = JSON.stringify({ text: 'x'.repeat(256 * 1024 - 'reelay'.length - 'Video Ready'.length - '{"text":""}'.length) });
    expect((await client.send(new PutEventsCommand({ Entries: [entry({ Detail: fits })] }))).FailedEntryCount).toBe(0);

    expect(eventBridge.events()).toHaveLength(1);
    expect(eventBridge.counters).toMatchObject({ calls: 4, failedCalls: 3 });
  });

  it('answers an unknown bus with ResourceNotFoundException and keeps nothing of the call', async () => {
    const { eventBridge, client } = await start();
    const error = await rejection(client.send(new PutEventsCommand({ Entries: [entry(), entry({ EventBusName: 'no-such-bus' })] })));
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.message).toBe('Event bus no-such-bus does not exist.');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(eventBridge.events()).toEqual([]);
  });

  it('injects whole-call throttling and internal errors, then answers normally', async () => {
    const { eventBridge, client } = await start();
    eventBridge.faults.failNextPutEvents(1);
    eventBridge.faults.failNextPutEvents(1, { code: 'InternalException' });
    const throttled = await rejection(client.send(new PutEventsCommand({ Entries: [entry()] })));
    expect(throttled).toBeInstanceOf(ThrottlingException);
    expect(throttled.$metadata?.httpStatusCode).toBe(400);
    expect(throttled.$fault).toBe('client');
    const internal = await rejection(client.send(new PutEventsCommand({ Entries: [entry()] })));
    expect(internal).toBeInstanceOf(InternalException);
    expect(internal.$metadata?.httpStatusCode).toBe(500);
    expect(eventBridge.events()).toEqual([]);

    expect((await client.send(new PutEventsCommand({ Entries: [entry()] }))).FailedEntryCount).toBe(0);
    expect(eventBridge.faults.pending()).toBe(0);
    expect(eventBridge.counters).toMatchObject({ calls: 3, failedCalls: 2, acceptedEntries: 1 });
  });

  it('injects a partial failure: the named entries fail with the code and are not kept', async () => {
    const { eventBridge, client } = await start();
    eventBridge.faults.failNextPutEvents(1, { whole: false, entries: [1], code: 'InternalFailure' });
    const answer = await client.send(new PutEventsCommand({ Entries: [entry(), entry({ Detail: '{"videoId":"v-2"}' }), entry()] }));
    expect(answer.FailedEntryCount).toBe(1);
    expect(answer.Entries?.map((result) => result.ErrorCode ?? result.EventId?.length)).toEqual([36, 'InternalFailure', 36]);
    expect(eventBridge.events({ videoId: 'v-2' })).toEqual([]);
    expect(eventBridge.events()).toHaveLength(2);
  });

  it('requires a SigV4 Authorization header, the PutEvents target and the JSON 1.1 content type', async () => {
    const { eventBridge } = await start();
    const body = JSON.stringify({ Entries: [entry()] });
    const post = (headers: Record<string, string>) => fetch(eventBridge.endpoint, { method: 'POST', headers, body }).then(async (response) => ({ status: response.status, body: await response.json() as Record<string, unknown> }));
    const target = { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' };
    const sigv4 = 'AWS4-HMAC-SHA256 Credential=local-key/20261203/us-east-1/events/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123';

    expect(await post(target)).toEqual({ status: 403, body: { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' } });
    expect(await post({ ...target, authorization: 'Bearer token' })).toMatchObject({ status: 403, body: { __type: 'IncompleteSignatureException' } });
    expect(await post({ ...target, authorization: sigv4, 'x-amz-target': 'AWSEvents.ListRules' })).toMatchObject({ status: 400, body: { __type: 'UnknownOperationException' } });
    expect(await post({ ...target, authorization: sigv4, 'content-type': 'application/json' })).toMatchObject({ status: 400, body: { __type: 'SerializationException' } });
    // Any signature passes until issue M: the header's form is what is checked.
    expect(await post({ ...target, authorization: sigv4 })).toMatchObject({ status: 200, body: { FailedEntryCount: 0 } });
    expect(eventBridge.events()).toHaveLength(1);
  });
});

const fastRetry = { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 4, budgetMs: 5_000 };

function videoEvent(index: number, status: EventStatus = 'ready'): VideoEvent {
  const at = new Date(Date.UTC(2026, 11, 3, 10, 0, index)).toISOString();
  return {
    detailType: detailTypes[status],
    detail: {
      eventId: `event-${index}`,
      videoId: `video-${index}`,
      ownerId: 'alice',
      status,
      occurredAt: at,
      video: {
        id: `video-${index}`, title: 'Demo', description: null, status: status === 'deleted' ? 'deleting' : status, filename: 'demo.mp4', contentType: 'video/mp4',
        size: 1024, createdAt: at, updatedAt: at, mux: null, audio: null, captions: null,
      },
    },
  } as VideoEvent;
}

async function publisherFor(eventBridge: LocalEventBridge, busName = bus) {
  const settings: EventBusSettings = { busName, region: 'us-east-1', endpoint: eventBridge.endpoint, credentials };
  const logger = memoryLogger('info');
  return { publisher: new EventBridgePublisher(settings, { retry: fastRetry, logger }), logger };
}

const eventIds = (eventBridge: LocalEventBridge) => eventBridge.events().map((event) => event.detail.eventId);

describe('EventBridgePublisher against the local EventBridge', () => {
  it('publishes in batches of 10, in order, with the contract\'s source, detail-type and time', async () => {
    const { eventBridge } = await start();
    const { publisher } = await publisherFor(eventBridge);
    const events = Array.from({ length: 23 }, (_, index) => videoEvent(index));
    const outcome = await publisher.publish(events);
    expect(outcome).toEqual({ published: events.map((event) => event.detail.eventId), failed: [] });
    expect(eventBridge.counters.calls).toBe(3);
    expect(eventIds(eventBridge)).toEqual(outcome.published);
    expect(eventBridge.events()[5]).toMatchObject({ source: 'reelay', 'detail-type': 'Video Ready', time: '2026-12-03T10:00:05Z', detail: events[5]?.detail });
  });

  it('recovers from whole-call throttling by retrying', async () => {
    const { eventBridge } = await start();
    const { publisher, logger } = await publisherFor(eventBridge);
    eventBridge.faults.failNextPutEvents(2);
    const outcome = await publisher.publish([videoEvent(1), videoEvent(2)]);
    expect(outcome).toEqual({ published: ['event-1', 'event-2'], failed: [] });
    expect(eventBridge.counters).toMatchObject({ calls: 3, failedCalls: 2 });
    expect(eventIds(eventBridge)).toEqual(['event-1', 'event-2']);
    expect(logger.lines.filter((line) => line.event === 'events.put_retry')).toHaveLength(2);
  });

  it('retries only the entries a partial failure names, so nothing is put twice', async () => {
    const { eventBridge } = await start();
    const { publisher } = await publisherFor(eventBridge);
    eventBridge.faults.failNextPutEvents(1, { whole: false, entries: [0, 2] });
    const outcome = await publisher.publish([videoEvent(1), videoEvent(2), videoEvent(3)]);
    expect([...outcome.published].sort()).toEqual(['event-1', 'event-2', 'event-3']);
    expect(outcome.failed).toEqual([]);
    expect(eventIds(eventBridge)).toEqual(['event-2', 'event-1', 'event-3']);
    expect(eventBridge.counters).toMatchObject({ calls: 2, acceptedEntries: 3, failedEntries: 2 });
  });

  it('reports what stays failed after its retries, with the entry\'s code, and what was published', async () => {
    const { eventBridge } = await start();
    const { publisher, logger } = await publisherFor(eventBridge);
    // The first call fails the second entry; every retry (of that entry alone) fails too.
    eventBridge.faults.failNextPutEvents(1, { whole: false, entries: [1] });
    eventBridge.faults.failNextPutEvents(3, { whole: false });
    const outcome = await publisher.publish([videoEvent(1), videoEvent(2)]);
    expect(outcome.published).toEqual(['event-1']);
    expect(outcome.failed).toEqual([{ eventId: 'event-2', code: 'ThrottlingException', message: expect.any(String) }]);
    // maxAttempts 4: the first call and three retries.
    expect(eventBridge.counters).toMatchObject({ calls: 4, acceptedEntries: 1, failedEntries: 4 });
    expect(eventIds(eventBridge)).toEqual(['event-1']);
    expect(logger.lines.find((line) => line.event === 'events.put_failed')).toMatchObject({ published: 1, failed: 1, codes: ['ThrottlingException'] });
  });

  it('gives up after its attempts on throttling that does not end, reporting every event failed', async () => {
    const { eventBridge } = await start();
    const { publisher, logger } = await publisherFor(eventBridge);
    eventBridge.faults.failNextPutEvents(4);
    const outcome = await publisher.publish([videoEvent(1), videoEvent(2)]);
    expect(outcome.published).toEqual([]);
    expect(outcome.failed.map((failure) => [failure.eventId, failure.code])).toEqual([['event-1', 'ThrottlingException'], ['event-2', 'ThrottlingException']]);
    expect(eventBridge.counters.calls).toBe(4);
    expect(eventBridge.events()).toEqual([]);
    expect(logger.lines.find((line) => line.event === 'events.put_failed')).toMatchObject({ failed: 2, codes: ['ThrottlingException'] });
  });

  it('sends an event over 256 KiB alone, so only it fails (ValidationException, not retried)', async () => {
    const { eventBridge } = await start();
    const { publisher } = await publisherFor(eventBridge);
    const huge = videoEvent(2);
    const oversized: VideoEvent = { ...huge, detail: { ...huge.detail, video: { ...huge.detail.video, description: 'x'.repeat(300_000) } } };
    const outcome = await publisher.publish([videoEvent(1), oversized, videoEvent(3)]);
    expect(outcome.published).toEqual(['event-1', 'event-3']);
    expect(outcome.failed).toEqual([{ eventId: 'event-2', code: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' }]);
    expect(eventBridge.counters).toMatchObject({ calls: 3, failedCalls: 1 });
  });

  it('does not retry what will not get better: an unknown bus', async () => {
    const { eventBridge } = await start();
    const { publisher } = await publisherFor(eventBridge, 'no-such-bus');
    const outcome = await publisher.publish([videoEvent(1)]);
    expect(outcome.failed).toEqual([{ eventId: 'event-1', code: 'ResourceNotFoundException', message: 'Event bus no-such-bus does not exist.' }]);
    expect(eventBridge.counters.calls).toBe(1);
  });

  it('puts an event twice, with the same eventId, when the answer is lost after EventBridge took it (at least once)', async () => {
    const { eventBridge } = await start();
    const { publisher } = await publisherFor(eventBridge);
    eventBridge.faults.failNextPutEvents(1, { afterAccepting: true, code: 'InternalException' });
    const outcome = await publisher.publish([videoEvent(1)]);
    expect(outcome).toEqual({ published: ['event-1'], failed: [] });
    expect(eventIds(eventBridge)).toEqual(['event-1', 'event-1']);
    const [first, second] = eventBridge.events();
    expect(first?.id).not.toBe(second?.id);
  });
});

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

async function startReceiver(statuses: number[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      response.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/reelay`, received };
}

describe('the local forward rule (EVENTS_FORWARD_URL)', () => {
  it('POSTs every reelay event\'s envelope, retrying 5xx and 429, never other 4xx, and never blocks PutEvents', async () => {
    const receiver = await startReceiver([503, 429, 200, 400]);
    const { eventBridge, client } = await start({ forwardUrl: receiver.url, forwardRetryDelaysMs: [5, 5, 5] });
    const answer = await client.send(new PutEventsCommand({ Entries: [entry(), entry({ Source: 'other.app' }), entry({ Detail: '{"videoId":"v-2"}' })] }));
    expect(answer.FailedEntryCount).toBe(0);
    await eventBridge.whenIdle();

    const [first, second] = eventBridge.events({ source: 'reelay' });
    // The first event took three attempts (503, 429, 200); the second was refused with 400 and not retried.
    expect(receiver.received.map((request) => request.body.id)).toEqual([first?.id, first?.id, first?.id, second?.id]);
    expect(receiver.received[0]?.body).toEqual(first);
    expect(receiver.received[0]?.headers['content-type']).toMatch(/^application\/json/);
    expect(eventBridge.forwarding).toMatchObject({ url: receiver.url, delivered: 1, failed: 1, dropped: 0 });
    expect(eventBridge.forwarding?.attempts.map((attempt) => attempt.status)).toEqual([503, 429, 200, 400]);
  });

  it('forwards every event of concurrent calls, once each', async () => {
    const receiver = await startReceiver([]);
    const { eventBridge, client } = await start({ forwardUrl: receiver.url });
    await Promise.all(Array.from({ length: 20 }, (_, index) => client.send(new PutEventsCommand({ Entries: [entry({ Detail: JSON.stringify({ videoId: `v-${index}` }) })] }))));
    await eventBridge.whenIdle();
    expect(receiver.received.map((request) => request.body.id)).toEqual(eventBridge.events().map((event) => event.id));
    expect(eventBridge.forwarding).toMatchObject({ delivered: 20, failed: 0 });
  });

  it('logs and gives up on an unreachable URL after its retries', async () => {
    const receiver = await startReceiver([]);
    const logger = memoryLogger('info');
    const unreachable = receiver.url.replace(/:\d+\//, ':1/');
    const { eventBridge, client } = await start({ forwardUrl: unreachable, forwardRetryDelaysMs: [1, 1], logger });
    await client.send(new PutEventsCommand({ Entries: [entry()] }));
    await eventBridge.whenIdle();
    expect(eventBridge.forwarding).toMatchObject({ delivered: 0, failed: 1 });
    expect(eventBridge.forwarding?.attempts).toHaveLength(3);
    expect(logger.lines.find((line) => line.event === 'eventbridge.forward_failed')).toMatchObject({ attempts: 3, status: null });
    expect(logger.lines.find((line) => line.event === 'eventbridge.event')).toMatchObject({ source: 'reelay', detailType: 'Video Ready', videoId: 'v-1', status: 'ready' });
  });
});
