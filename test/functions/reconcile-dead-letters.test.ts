/** Issue N: reconcile drains the ingest DLQ after its sweeps (shared/videos/dead-letters.ts). */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/reconcile/handler.js';
import type { Logger } from '../../shared/log.js';
import type { DeadLetterMessage, DeadLetterQueue } from '../../shared/videos/dead-letters.js';
import { backends } from '../support/databases.js';
import { sqsEvent, startPipeline, type Pipeline } from '../videos/ingest-support.js';

describe.each(backends)('reconcile drains the ingest DLQ on %s', (backend) => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline(backend);
  });
  afterAll(async () => {
    await pipeline.close();
  });

  it('deletes the dead letter of a handled video and redrives the one of a video still to ingest', async () => {
    const done = await pipeline.upload();
    expect((await pipeline.ingest(sqsEvent([done]))).batchItemFailures).toEqual([]);
    const stranded = await pipeline.upload();
    const waiting: DeadLetterMessage[] = [done, stranded].map(({ record }) => ({ messageId: randomUUID(), receiptHandle: randomUUID(), body: JSON.stringify({ Records: [record] }), redrives: 0 }));
    const redriven: string[] = [];
    const deleted: string[] = [];
    const deadLetterQueue: DeadLetterQueue = {
      receive: async (max) => waiting.splice(0, max),
      delete: async (message) => void deleted.push(message.messageId),
      redrive: async (message) => void redriven.push(message.body),
    };
    const reconcile = await createHandler(pipeline.env, { driver: pipeline.db.driver, logger: pipeline.logger as Logger, deadLetterQueue });

    const result = await reconcile({});

    expect(result.deadLetters).toMatchObject({ received: 2, redriven: 1 });
    expect(deleted).toHaveLength(2);
    expect(redriven).toEqual([JSON.stringify({ Records: [stranded.record] })]);
  });

  it('drains more than one batch (100 messages) in a run while its time budget lasts', async () => {
    const done = await pipeline.upload();
    expect((await pipeline.ingest(sqsEvent([done]))).batchItemFailures).toEqual([]);
    const waiting: DeadLetterMessage[] = Array.from({ length: 150 }, () => ({ messageId: randomUUID(), receiptHandle: randomUUID(), body: JSON.stringify({ Records: [done.record] }), redrives: 0 }));
    let deleted = 0;
    const deadLetterQueue: DeadLetterQueue = {
      receive: async (max) => waiting.splice(0, max),
      delete: async () => void (deleted += 1),
      redrive: async () => undefined,
    };
    const reconcile = await createHandler(pipeline.env, { driver: pipeline.db.driver, logger: pipeline.logger as Logger, deadLetterQueue });

    expect((await reconcile({})).deadLetters).toEqual({ received: 150, deleted: 150, redriven: 0, kept: 0, more: false });
    expect(deleted).toBe(150);
  });

  it('reports no drain without the DLQ settings', async () => {
    const reconcile = await createHandler(pipeline.env, { driver: pipeline.db.driver, logger: pipeline.logger as Logger });
    expect((await reconcile({})).deadLetters).toBeUndefined();
  });
});
