/**
 * Lifecycle events over HTTP through the local stack (issue J): the functions publish to the local EventBridge with
 * the unchanged SDK client, and `/_local/events` serves what arrived. One upload through to ready yields its four
 * events in the order of its status history; an asset Mux refuses yields `Video Errored`; a delete yields
 * `Video Deleted`; a PutEvents that fails leaves the event to reconcile, which delivers it with the same `eventId`.
 * Every event matches docs/EVENTS.md's schema of its detail-type.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../local/eventbridge/store.js';
import { detailSchemas } from '../../shared/events/video-event-schema.js';
import { detailTypeNames, type DetailType } from '../../shared/events/video-events.js';
import { createDriver, driverConfigFromEnv } from '../../shared/db/create-driver.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { createUpload, isReady, putSingle, uploadRequest, videoBytes, waitForVideo } from './support.js';

describe('lifecycle events through the local stack', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startTestStack({ lambdaEnv: { EVENTS_SWEEP_AFTER_SECONDS: '0' } });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(async () => {
    await stack?.dispose();
  });
  afterEach(() => {
    stack.muxEmulator.faults.reset();
  });

  /** What `/_local/events` serves for the video, as an app polling it would read it. */
  async function eventsOf(videoId: string): Promise<EventEnvelope[]> {
    const answer = await stack.request<{ events: EventEnvelope[] }>('GET', `/_local/events?videoId=${videoId}`);
    expect(answer.status).toBe(200);
    return answer.body.events;
  }

  const typesOf = (events: readonly EventEnvelope[]) => events.map((event) => event['detail-type']);

  function expectValid(events: readonly EventEnvelope[]): void {
    for (const event of events) {
      expect(event.source).toBe('reelay');
      expect(detailTypeNames).toContain(event['detail-type']);
      expect(detailSchemas[event['detail-type'] as DetailType].safeParse(event.detail).error).toBeUndefined();
    }
  }

  async function uploaded(title: string): Promise<string> {
    const bytes = videoBytes(4096);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title }));
    if (created.upload.mode !== 'single') throw new Error('expected a single PUT');
    expect((await putSingle(created.upload, bytes)).status).toBe(200);
    return created.video.id;
  }

  it('an upload through to ready: Upload Created, Uploaded, Processing, Ready, in the order of its status history', async () => {
    const id = await uploaded('events: happy path');
    const video = await waitForVideo(stack, alice, id, isReady);
    await stack.idle();
    const events = await eventsOf(id);
    expect(typesOf(events)).toEqual(['Video Upload Created', 'Video Uploaded', 'Video Processing', 'Video Ready']);
    expectValid(events);
    const occurred = events.map((event) => Date.parse(String(event.detail.occurredAt)));
    expect([...occurred].sort((a, b) => a - b)).toEqual(occurred);
    expect(new Set(events.map((event) => event.detail.eventId)).size).toBe(4);
    const ready = events.at(-1)?.detail as { ownerId: string; video: { mux: { playbackId: string } } };
    expect(ready.video.mux.playbackId).toBe(video.mux?.playbackId);
    expect(ready.ownerId).toEqual(expect.any(String));
    // Every publish was acknowledged: nothing is left for the sweep.
    expect(await unpublished()).toBe(0);
  });

  it('an asset Mux refuses: Video Errored, with Mux’s message', async () => {
    stack.muxEmulator.faults.failNextCreates(1, 400);
    const id = await uploaded('events: refused');
    await waitForVideo(stack, alice, id, (video) => video.status === 'errored');
    await stack.idle();
    const events = await eventsOf(id);
    expect(typesOf(events)).toEqual(['Video Upload Created', 'Video Uploaded', 'Video Processing', 'Video Errored']);
    expect(events.at(-1)?.detail).toMatchObject({ status: 'errored', video: { status: 'errored', mux: { error: expect.stringMatching(/^rejected: /) } } });
    expectValid(events);
  });

  it('a delete: Video Deleted, once, after the video’s other events', async () => {
    const id = await uploaded('events: deleted');
    await waitForVideo(stack, alice, id, isReady);
    const deleted = await stack.request('DELETE', `/api/videos/${id}`, { token: alice });
    expect(deleted.status, deleted.text).toBe(204);
    await stack.idle();
    const events = await eventsOf(id);
    expect(typesOf(events).filter((type) => type === 'Video Deleted')).toHaveLength(1);
    expect(typesOf(events).at(-1)).toBe('Video Deleted');
    expect(events.at(-1)?.detail).toMatchObject({ videoId: id, status: 'deleted', video: { id, status: 'deleting' } });
    expectValid(events);
  });

  it('a PutEvents that keeps failing: the request still succeeds, and reconcile delivers the event later, same eventId', async () => {
    stack.eventBridge.faults.failNextPutEvents(4);
    const created = await createUpload(stack, alice, uploadRequest(videoBytes(1024), { title: 'events: throttled' }));
    expect(await eventsOf(created.video.id)).toEqual([]);
    expect(await unpublished()).toBe(1);
    const summary = (await stack.invoke.reconcile({ action: 'reconcile' })) as { republished: number };
    expect(summary.republished).toBe(1);
    const events = await eventsOf(created.video.id);
    expect(typesOf(events)).toEqual(['Video Upload Created']);
    expect(await unpublished()).toBe(0);
  });

  it('an answer lost after EventBridge took the event: delivered twice, with the same eventId and detail', async () => {
    stack.eventBridge.faults.failNextPutEvents(4, { afterAccepting: true, code: 'InternalException' });
    const created = await createUpload(stack, alice, uploadRequest(videoBytes(1024), { title: 'events: lost answer' }));
    await stack.invoke.reconcile({ action: 'reconcile' });
    const events = await eventsOf(created.video.id);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(new Set(events.map((event) => event.detail.eventId)).size).toBe(1);
    expect(new Set(events.map((event) => JSON.stringify(event.detail))).size).toBe(1);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });

  /** Events not acknowledged yet, read as the master user through the local Data API. */
  async function unpublished(): Promise<number> {
    const driver = await createDriver(driverConfigFromEnv(stack.env));
    try {
      const { rows } = await driver.execute('SELECT count(*)::int AS n FROM video_events WHERE published_at IS NULL');
      return Number(rows[0]?.n);
    } finally {
      await driver.close();
    }
  }
});
