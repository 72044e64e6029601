/**
 * The local EventBridge inside the local stack: the publishing functions (manifest `events`) are given the bus and
 * endpoint (EVENT_BUS_NAME, EVENTBRIDGE_ENDPOINT) that shared/events/config.ts reads, the others are not (as in AWS), a publisher built from a function's own environment
 * reaches it, and the API serves what it received at `/_local/events`, oldest first, filtered, and clears it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventBusSettingsFromEnv } from '../../shared/events/config.js';
import { EventBridgePublisher } from '../../shared/events/eventbridge-publisher.js';
import { detailTypes, type EventStatus, type VideoEvent } from '../../shared/events/video-events.js';
import type { EventEnvelope } from '../../local/eventbridge/server.js';
import { eventsForwardUrl } from '../../local/stack/services.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.dispose();
});

function videoEvent(videoId: string, status: EventStatus, second: number): VideoEvent {
  const at = new Date(Date.UTC(2026, 11, 3, 10, 0, second)).toISOString();
  return {
    detailType: detailTypes[status],
    detail: {
      eventId: `${videoId}-${status}`,
      videoId,
      ownerId: 'alice',
      status,
      occurredAt: at,
      video: {
        id: videoId, title: 'Demo', description: null, status: status === 'deleted' ? 'deleting' : status, filename: 'demo.mp4', contentType: 'video/mp4',
        size: 1024, createdAt: at, updatedAt: at, mux: null, audio: null, captions: null,
      },
    },
  } as VideoEvent;
}

describe('the local stack\'s EventBridge', () => {
  it('gives the publishing functions the bus and the endpoint, and no other function', () => {
    for (const name of ['uploads', 'mux-webhook', 'ingest', 'reconcile', 'video-deletes']) {
      const settings = eventBusSettingsFromEnv(stack.functionEnv(name));
      expect(settings).toMatchObject({ busName: 'reelay-local', endpoint: stack.eventBridge.endpoint, region: 'us-east-1' });
      expect(settings?.credentials?.accessKeyId).toEqual(expect.any(String));
    }
    for (const name of ['videos', 'video-changes', 'admin', 'migrate', 'health']) expect(eventBusSettingsFromEnv(stack.functionEnv(name))).toBeUndefined();
    expect(stack.urls.eventBridge).toBe(stack.eventBridge.endpoint);
  });

  it('serves the events a function publishes at /_local/events, oldest first, filtered by video, and clears them', async () => {
    const settings = eventBusSettingsFromEnv(stack.functionEnv('mux-webhook'));
    if (!settings) throw new Error('EVENT_BUS_NAME is not set');
    const publisher = new EventBridgePublisher(settings);
    // Two calls, the second video's events in the first: the order served is the order received.
    const first = [videoEvent('video-b', 'awaiting_upload', 1), videoEvent('video-a', 'awaiting_upload', 2)];
    const second = [videoEvent('video-a', 'uploaded', 3), videoEvent('video-a', 'ready', 4), videoEvent('video-b', 'deleted', 5)];
    expect((await publisher.publish(first)).failed).toEqual([]);
    expect((await publisher.publish(second)).failed).toEqual([]);

    const all = await stack.request<{ events: EventEnvelope[] }>('GET', '/_local/events');
    expect(all.status).toBe(200);
    expect(all.body.events.map((event) => event.detail.eventId)).toEqual([...first, ...second].map((event) => event.detail.eventId));
    expect(all.body.events[3]).toMatchObject({ version: '0', source: 'reelay', 'detail-type': 'Video Ready', account: '000000000000', region: 'us-east-1', time: '2026-12-03T10:00:04Z' });

    const videoA = await stack.request<{ events: EventEnvelope[] }>('GET', '/_local/events?videoId=video-a');
    expect(videoA.body.events.map((event) => event['detail-type'])).toEqual(['Video Upload Created', 'Video Uploaded', 'Video Ready']);
    const deleted = await stack.request<{ events: EventEnvelope[] }>('GET', `/_local/events?detail-type=${encodeURIComponent('Video Deleted')}`);
    expect(deleted.body.events.map((event) => event.detail.videoId)).toEqual(['video-b']);
    expect((await stack.request('GET', `/_local/events?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body).toEqual({ events: [] });
    expect(await stack.request('GET', '/_local/events?since=yesterday')).toMatchObject({ status: 400, body: { message: expect.stringMatching(/since/) } });

    // Each event was logged as one line through the stack's logger.
    const logged = stack.logs.filter((line) => line.event === 'eventbridge.event' && line.videoId === 'video-a');
    expect(logged.map((line) => line.detailType)).toEqual(['Video Upload Created', 'Video Uploaded', 'Video Ready']);

    expect(await stack.request('DELETE', '/_local/events')).toMatchObject({ status: 200, body: { cleared: 5 } });
    expect((await stack.request('GET', '/_local/events')).body).toEqual({ events: [] });
  });
});

describe('EVENTS_FORWARD_URL', () => {
  it('is read from the environment unless the options name one, and must be an http(s) URL', () => {
    expect(eventsForwardUrl({}, {})).toBeUndefined();
    expect(eventsForwardUrl({}, { EVENTS_FORWARD_URL: ' ' })).toBeUndefined();
    expect(eventsForwardUrl({}, { EVENTS_FORWARD_URL: 'http://127.0.0.1:4000/hooks/' })).toBe('http://127.0.0.1:4000/hooks/');
    expect(eventsForwardUrl({ eventBridge: { forwardUrl: 'https://app.example/e' } }, { EVENTS_FORWARD_URL: 'http://127.0.0.1:4000/' })).toBe('https://app.example/e');
    expect(() => eventsForwardUrl({}, { EVENTS_FORWARD_URL: 'ftp://host/x' })).toThrow(/EVENTS_FORWARD_URL must be an http\(s\) URL/);
    expect(() => eventsForwardUrl({}, { EVENTS_FORWARD_URL: 'not a url' })).toThrow(/EVENTS_FORWARD_URL/);
  });
});
