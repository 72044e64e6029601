/**
 * Lifecycle events through the functions as Lambda runs them (ingest, mux-webhook, reconcile over a real database,
 * the local S3 and the Mux emulator): the events a video's life yields, and the two crashes the outbox exists for —
 * the function dies after its commit and before PutEvents, and after PutEvents before its acknowledgement.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detailSchemas } from '../../shared/events/video-event-schema.js';
import { backends } from '../support/databases.js';
import { recordingPublisher, type RecordingPublisher } from '../support/events.js';
import { sqsEvent, startPipeline, type Pipeline } from '../videos/ingest-support.js';

/** Retries `assertion` until it passes (or 10 s have gone by, then its last failure is thrown). */
async function until(assertion: () => unknown | Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

describe.each(backends)('lifecycle events from the functions on %s', (backend) => {
  let pipeline: Pipeline;
  let publisher: RecordingPublisher;
  const eventsOf = (videoId: string) => publisher.events.filter((event) => event.detail.videoId === videoId);

  beforeAll(async () => {
    publisher = recordingPublisher();
    pipeline = await startPipeline(backend, { eventPublisher: publisher, extraEnv: { EVENTS_SWEEP_AFTER_SECONDS: '0' } });
    await pipeline.relayWebhooks();
  });
  afterAll(async () => {
    await pipeline.close();
  });
  afterEach(() => {
    pipeline.mux.faults.reset();
  });

  it('an upload through to ready yields Uploaded, Processing and Ready, in the order of its status history', async () => {
    const { video, record } = await pipeline.upload();
    expect((await pipeline.ingest(sqsEvent([{ record }]))).batchItemFailures).toEqual([]);
    await pipeline.mux.whenIdle();
    await until(() => expect(eventsOf(video.id).map((event) => event.detailType)).toContain('Video Ready'));
    const events = eventsOf(video.id);
    expect(events.map((event) => event.detailType)).toEqual(['Video Uploaded', 'Video Processing', 'Video Ready']);
    const times = events.map((event) => Date.parse(event.detail.occurredAt));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const ready = events.at(-1);
    expect(ready?.detail.video.mux?.playbackId).toEqual(expect.any(String));
    for (const event of events) expect(detailSchemas[event.detailType].safeParse(event.detail).error).toBeUndefined();
  });

  it('an asset Mux refuses yields Video Errored', async () => {
    const { video, record } = await pipeline.upload();
    pipeline.mux.faults.failNextCreates(1, 400);
    await pipeline.ingest(sqsEvent([{ record }]));
    const errored = eventsOf(video.id).find((event) => event.detailType === 'Video Errored');
    expect(errored?.detail).toMatchObject({ status: 'errored', video: { status: 'errored', mux: { error: expect.stringMatching(/^rejected: /) } } });
  });

  it('the ingest dies after its commit and before PutEvents: reconcile delivers the event', async () => {
    const { video, record } = await pipeline.upload({ status: 'uploaded' });
    publisher.hang('beforePut');
    // The invocation never finishes: like a Lambda that timed out or was killed, it acknowledges nothing.
    void pipeline.ingest(sqsEvent([{ record }]));
    await until(async () => expect((await pipeline.videos.findById(video.id))?.status).toBe('processing'));
    expect(eventsOf(video.id)).toEqual([]);
    await pipeline.reconcile({ action: 'reconcile' });
    expect(eventsOf(video.id).map((event) => event.detailType)).toContain('Video Processing');
  });

  it('the function dies after PutEvents and before the acknowledgement: delivered again, with the same eventId', async () => {
    const { video, record } = await pipeline.upload({ status: 'uploaded' });
    publisher.hang('afterPut');
    void pipeline.ingest(sqsEvent([{ record }]));
    await until(() => expect(eventsOf(video.id).map((event) => event.detailType)).toEqual(['Video Processing']));
    const summary = (await pipeline.reconcile({ action: 'reconcile' })) as { republished: number };
    expect(summary.republished).toBeGreaterThanOrEqual(1);
    const processing = eventsOf(video.id).filter((event) => event.detailType === 'Video Processing');
    expect(processing).toHaveLength(2);
    expect(processing[1]?.detail).toEqual(processing[0]?.detail);
  });
});
