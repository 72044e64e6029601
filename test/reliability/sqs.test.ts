/**
 * Fault family 4: SQS is at-least-once. The same S3 event delivered twice, and concurrently, makes one Mux
 * asset; a handler that dies between the Mux create and the database write (here: Mux made the asset, its answer
 * never came back) leaves the next delivery to find that asset by `passthrough` instead of creating a second.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type TestStack } from '../support/local-stack.js';
import {
  assetsFor,
  expectEndState,
  getVideo,
  logCounts,
  mapWithLimit,
  postSignedWebhook,
  recordFigures,
  smallVideo,
  sqsEventFor,
  startReliabilityStack,
  titles,
  uploadVideo,
  type ClientUpload,
} from './support.js';

const scenario = '4. SQS redelivery';
const muxTimeoutMs = 1_500;
const ingestEvents = ['ingest.asset_created', 'ingest.asset_adopted', 'ingest.claimed_elsewhere', 'ingest.skipped', 'ingest.mux_unavailable', 'local_sqs.redelivery_scheduled'];

describe('S3 events delivered more than once', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startReliabilityStack({ lambdaEnv: { MUX_TIMEOUT_MS: String(muxTimeoutMs) } });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  it('the same event delivered twice more, concurrently, through the queue and straight to the function', async (context) => {
    const logMark = stack.logs.length;
    const videos = 10;
    let copies = 0;
    const uploads = await mapWithLimit(titles('sqs-twice', videos), videos, async (title) => {
      const objectMark = stack.objectCreated.length;
      const upload = await uploadVideo(stack, alice, title, { bytes: smallVideo });
      const record = await eventually(
        async () => stack.objectCreated.slice(objectMark).find((candidate) => candidate.s3.object.key.includes(upload.id)),
        () => `no notification for ${title}`,
      );
      // Two more copies: one queued beside the original, one handed to a second "Lambda instance" at once.
      stack.sqs.sendS3Record(record);
      await stack.invoke.ingest(sqsEventFor(record, randomUUID(), 1));
      copies += 2;
      return upload;
    });
    const end = await expectEndState(stack, alice, uploads, 'ready');
    const seen = logCounts(stack, logMark, ingestEvents);
    expect(seen['ingest.asset_created']).toBe(videos);
    recordFigures(context, {
      scenario,
      case: 'the same S3 event three times, concurrently',
      injected: { 'extra deliveries': copies },
      observed: {
        'assets created': seen['ingest.asset_created'] ?? 0,
        'claimed elsewhere (retried later)': seen['ingest.claimed_elsewhere'] ?? 0,
        'skipped (already past ingest)': seen['ingest.skipped'] ?? 0,
        'SQS redeliveries': seen['local_sqs.redelivery_scheduled'] ?? 0,
      },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });

  it('a handler that dies after Mux created the asset: the next delivery adopts it by passthrough', async (context) => {
    await stack.idle();
    const logMark = stack.logs.length;
    const deliveryMark = stack.muxEmulator.deliveries.length;
    const videos = 4;
    // Mux does the work but the answer never arrives, and no webhook tells reelay about the asset either: only the
    // passthrough search of the next delivery can find it.
    stack.muxEmulator.faults.hangNextCreates(videos, { createAsset: true });
    stack.muxEmulator.setWebhookUrl(null);
    let uploads: ClientUpload[];
    try {
      uploads = await mapWithLimit(titles('sqs-lost-create', videos), videos, (title) => uploadVideo(stack, alice, title, { bytes: smallVideo }));
      await eventually(
        async () => {
          const adopted = logCounts(stack, logMark, ['ingest.asset_adopted'])['ingest.asset_adopted'] ?? 0;
          return adopted >= videos ? adopted : undefined;
        },
        () => `adoptions so far: ${JSON.stringify(logCounts(stack, logMark, ingestEvents))}`,
        60_000,
      );
      await stack.idle();
    } finally {
      stack.muxEmulator.setWebhookUrl(`${stack.url}/api/webhooks/mux`);
    }
    for (const upload of uploads) {
      const { video } = (await getVideo(stack, alice, upload.id)).body;
      const [asset, ...more] = assetsFor(stack, upload.id);
      expect(more, 'no second asset').toEqual([]);
      expect(video.mux?.assetId, 'the adopted asset is stored').toBe(asset?.id);
    }
    // Mux's withheld webhooks arrive late, as its retries would bring them.
    for (const delivery of stack.muxEmulator.deliveries.slice(deliveryMark)) {
      const response = await postSignedWebhook(stack, delivery.body);
      expect(response.status, response.text).toBeLessThan(300);
    }
    const end = await expectEndState(stack, alice, uploads, 'ready');
    const seen = logCounts(stack, logMark, ingestEvents);
    expect(seen['ingest.asset_created'], 'no create succeeded from reelay’s point of view').toBe(0);
    recordFigures(context, {
      scenario,
      case: 'handler lost between the Mux create and the DB write',
      injected: { 'creates performed by Mux with the answer lost': videos },
      observed: {
        'ingest gave the message back (timeout)': seen['ingest.mux_unavailable'] ?? 0,
        'assets adopted by passthrough': seen['ingest.asset_adopted'] ?? 0,
        'second assets created': 0,
      },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });
});
