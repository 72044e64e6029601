/**
 * Issue N: a message retried because Mux throttled comes back when Mux says (ChangeMessageVisibility), the ingests of
 * one container stop calling Mux while it throttles, and without INGEST_QUEUE_URL nothing changes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, type IngestHandler } from '../../functions/ingest/handler.js';
import type { Logger } from '../../shared/log.js';
import type { MessageVisibility } from '../../shared/queue/visibility.js';
import { backends } from '../support/databases.js';
import { assetsFor, sqsEvent, startPipeline, type Pipeline } from '../videos/ingest-support.js';

describe.each(backends)('ingest retries on %s', (backend) => {
  let pipeline: Pipeline;
  let changes: Array<{ receiptHandle: string; seconds: number }>;
  let failChanges = false;
  const visibility: MessageVisibility = {
    change: async (receiptHandle, seconds) => {
      if (failChanges) throw new Error('SQS said no');
      changes.push({ receiptHandle, seconds });
    },
  };
  const queueEnv = { INGEST_QUEUE_URL: 'http://127.0.0.1:1/000000000000/ingest', INGEST_QUEUE_VISIBILITY_SECONDS: '720', INGEST_QUEUE_MAX_RECEIVE_COUNT: '5' };
  /** A new container, with its own throttle gate. */
  const container = (env = queueEnv): Promise<IngestHandler> =>
    createHandler({ ...pipeline.env, ...env }, { driver: pipeline.db.driver, logger: pipeline.logger as Logger, messageVisibility: visibility, random: () => 0 });

  beforeAll(async () => {
    pipeline = await startPipeline(backend);
  });
  afterAll(async () => {
    await pipeline.close();
  });
  afterEach(() => {
    pipeline.mux.faults.reset();
    changes = [];
    failChanges = false;
  });
  changes = [];

  it('brings a throttled message back after Mux’s Retry-After, not the visibility timeout, and gives the claim back', async () => {
    const ingest = await container();
    const { video, record } = await pipeline.upload();
    pipeline.mux.faults.rateLimitNextCreates(1, 100);
    const event = sqsEvent([{ record }]);

    const response = await ingest(event);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
    expect(changes).toEqual([{ receiptHandle: event.Records[0]?.receiptHandle, seconds: 100 }]);
    expect((await pipeline.videos.findById(video.id))?.status).toBe('uploaded');
  });

  it('backs off by receive count on a 5xx without Retry-After', async () => {
    const ingest = await container();
    const { record } = await pipeline.upload();
    pipeline.mux.faults.failNextCreates(1, 503);
    await ingest(sqsEvent([{ record }], 3));
    // Third receive of five with 720 s: floor 180 s, equal jitter (random 0: half of it).
    expect(changes.map((change) => change.seconds)).toEqual([90]);
  });

  it('defers the container’s other ingests while Mux throttles, without calling Mux, then creates once it may', async () => {
    const ingest = await container();
    const first = await pipeline.upload();
    const second = await pipeline.upload();
    pipeline.mux.faults.rateLimitNextCreates(1, 2);
    await ingest(sqsEvent([first]));
    const posts = () => pipeline.mux.requests.filter((request) => request.method === 'POST').length;
    const before = posts();

    const deferred = await ingest(sqsEvent([second]));

    expect(deferred.batchItemFailures).toHaveLength(1);
    expect(posts()).toBe(before);
    expect((await pipeline.videos.findById(second.video.id))?.status).toBe('uploaded');
    // What is left of the 2 s, raised to the first receive's 45 s floor.
    expect(changes.at(-1)?.seconds).toBe(45);

    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await ingest(sqsEvent([second], 2))).batchItemFailures).toEqual([]);
    expect(assetsFor(pipeline, second.video.id)).toHaveLength(1);
  });

  it('still reports the message failed when the visibility change fails (it then waits the queue’s timeout)', async () => {
    const ingest = await container();
    const { record } = await pipeline.upload();
    pipeline.mux.faults.rateLimitNextCreates(1, 5);
    failChanges = true;
    expect((await ingest(sqsEvent([{ record }]))).batchItemFailures).toHaveLength(1);
  });

  it('changes no visibility without INGEST_QUEUE_URL (an older stack)', async () => {
    const ingest = await container({} as typeof queueEnv);
    const { record } = await pipeline.upload();
    pipeline.mux.faults.rateLimitNextCreates(1, 5);
    expect((await ingest(sqsEvent([{ record }]))).batchItemFailures).toHaveLength(1);
    expect(changes).toEqual([]);
  });
});
