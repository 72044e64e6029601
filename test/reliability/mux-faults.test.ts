/**
 * Fault family 2: Mux's API answering 429 with Retry-After, 500, or not at all when ingest creates an asset.
 * Ingest hands the message back to SQS, a later delivery creates (or adopts) the asset, and every video ends with
 * exactly one asset and `ready`. An input Mux can never use ends `errored`, with Mux's message stored and shown by
 * GET /api/videos/{id}.
 */
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type TestStack } from '../support/local-stack.js';
import { expectEndState, getVideo, logCounts, mapWithLimit, recordFigures, smallVideo, startReliabilityStack, titles, uploadVideo } from './support.js';

const scenario = '2. Mux API faults';
const videosPerCase = 8;
/** Fewer faults than the queue's redrive limit allows failures per message, so no message can be dead-lettered. */
const faultsPerCase = 4;
/** The ingest function's Mux timeout here: a create that hangs is given up on after this. */
const muxTimeoutMs = 1_500;
const ingestEvents = ['ingest.mux_unavailable', 'ingest.asset_created', 'ingest.asset_adopted', 'ingest.claimed_elsewhere', 'local_sqs.redelivery_scheduled', 'ingest.rejected'];

describe('ingest through a failing Mux API', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startReliabilityStack({ lambdaEnv: { MUX_TIMEOUT_MS: String(muxTimeoutMs) } });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  const cases: ReadonlyArray<{ name: string; fault: string; inject: (stack: TestStack) => void }> = [
    { name: '429 Too Many Requests with retry-after', fault: 'asset create answered 429 (retry-after: 1)', inject: (s) => s.muxEmulator.faults.rateLimitNextCreates(faultsPerCase, 1) },
    { name: '500 Internal Server Error', fault: 'asset create answered 500', inject: (s) => s.muxEmulator.faults.failNextCreates(faultsPerCase, 500) },
    { name: '503 Service Unavailable', fault: 'asset create answered 503', inject: (s) => s.muxEmulator.faults.failNextCreates(faultsPerCase, 503) },
    { name: 'a create that never answers (timeout)', fault: `asset create hung (client timeout ${muxTimeoutMs} ms)`, inject: (s) => s.muxEmulator.faults.hangNextCreates(faultsPerCase) },
    {
      name: 'a create that Mux performed but whose answer was lost',
      fault: 'asset created, answer lost (timeout)',
      inject: (s) => s.muxEmulator.faults.hangNextCreates(faultsPerCase, { createAsset: true }),
    },
  ];

  it.for(cases)('$name: SQS redelivers, one asset per video, every video ready', async ({ name, fault, inject }, context) => {
    await stack.idle();
    const logMark = stack.logs.length;
    const requestMark = stack.muxEmulator.requests.length;
    inject(stack);
    const uploads = await mapWithLimit(titles(`mux-${name}`, videosPerCase), videosPerCase, (title) => uploadVideo(stack, alice, title, { bytes: smallVideo }));
    const end = await expectEndState(stack, alice, uploads, 'ready');
    const creates = stack.muxEmulator.requests.slice(requestMark).filter((request) => request.method === 'POST' && request.path === '/video/v1/assets');
    const refused = creates.filter((request) => request.status !== 200 && request.status !== 201).length;
    expect(refused, 'every injected fault was met').toBe(faultsPerCase);
    const seen = logCounts(stack, logMark, ingestEvents);
    expect(seen['ingest.rejected'], 'a transient failure never errors a video').toBe(0);
    recordFigures(context, {
      scenario,
      case: name,
      injected: { [fault]: refused },
      observed: {
        'ingest gave the message back (Mux unavailable)': seen['ingest.mux_unavailable'] ?? 0,
        'SQS redeliveries': seen['local_sqs.redelivery_scheduled'] ?? 0,
        'assets created': seen['ingest.asset_created'] ?? 0,
        'assets adopted by passthrough': seen['ingest.asset_adopted'] ?? 0,
        'create calls': creates.length,
      },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });

  it('an input Mux cannot fetch ends errored, with the Mux message stored and visible', async (context) => {
    await stack.idle();
    // The source object disappears (a lifecycle rule, an operator) while the first create hangs; the next delivery
    // creates the asset, Mux cannot download the input, and reports the asset errored.
    stack.muxEmulator.faults.hangNextCreates(1);
    const requestMark = stack.muxEmulator.requests.length;
    const objectMark = stack.objectCreated.length;
    const [upload] = await mapWithLimit(titles('mux-unfetchable', 1), 1, (title) => uploadVideo(stack, alice, title, { bytes: smallVideo }));
    if (!upload) throw new Error('no upload');
    const record = await eventually(async () => stack.objectCreated[objectMark], () => 'no object-created notification');
    await eventually(
      async () => stack.muxEmulator.requests.slice(requestMark).find((request) => request.path === '/video/v1/assets' && request.status === null),
      () => 'the create never reached the emulator',
    );
    await stack.s3.client.send(new DeleteObjectCommand({ Bucket: record.s3.bucket.name, Key: decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')) }));
    const end = await expectEndState(stack, alice, [upload], 'errored');
    const { video } = (await getVideo(stack, alice, upload.id)).body;
    expect(video.mux?.status).toBe('errored');
    expect(video.mux?.error).toMatch(/^invalid_input: The input file could not be downloaded or read \(HTTP 404\)/);
    recordFigures(context, {
      scenario,
      case: 'an input Mux cannot fetch (source object deleted; asset errored)',
      injected: { 'asset create hung': 1, 'source objects deleted before Mux fetched them': 1 },
      observed: { 'videos errored with the Mux message': 1 },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });

  it('a create Mux refuses for good (4xx) ends errored at once, with the message, and no asset', async (context) => {
    await stack.idle();
    const logMark = stack.logs.length;
    stack.muxEmulator.faults.failNextCreates(2, 400);
    const uploads = await mapWithLimit(titles('mux-refused', 2), 2, (title) => uploadVideo(stack, alice, title, { bytes: smallVideo }));
    const end = await expectEndState(stack, alice, uploads, 'errored', { assetsPerVideo: 0 });
    for (const upload of uploads) {
      const { video } = (await getVideo(stack, alice, upload.id)).body;
      expect(video.mux?.error).toMatch(/^rejected: .*Emulated fault: 400/);
    }
    const seen = logCounts(stack, logMark, ingestEvents);
    expect(seen['local_sqs.redelivery_scheduled'], 'a permanent refusal is not retried').toBe(0);
    recordFigures(context, {
      scenario,
      case: 'asset create refused with 400',
      injected: { 'asset create answered 400': 2 },
      observed: { 'videos errored with the Mux message': seen['ingest.rejected'] ?? 0, 'SQS redeliveries': 0 },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });
});
