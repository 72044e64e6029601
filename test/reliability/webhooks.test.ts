/**
 * Fault family 3: Mux webhooks duplicated, out of order (`ready` before `created`, a track before its
 * asset), replayed after the 300 s window, altered after signing, or forged. Whatever order and however often the
 * genuine events arrive, the video ends in the same state; a stale, altered or forged one is a 401 and changes
 * nothing.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { muxSignatureHeader } from '../../local/mux-emulator/signing.js';
import type { TestStack } from '../support/local-stack.js';
import {
  assetsFor,
  expectEndState,
  getVideo,
  logCounts,
  postSignedWebhook,
  recordFigures,
  smallVideo,
  startReliabilityStack,
  uploadVideo,
  type ClientUpload,
  type VideoJson,
} from './support.js';

const scenario = '3. Webhooks';
const webhookEvents = ['mux_webhook.applied', 'mux_webhook.duplicate', 'mux_webhook.ignored', 'mux_webhook.refused'];

describe('webhooks duplicated, reordered, replayed, altered and forged', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startReliabilityStack();
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  /**
   * Uploads a video with captions and an MP4 while the emulator keeps its webhooks to itself, and returns the
   * events Mux would have sent for its asset, in Mux's order. The video is left `processing`.
   */
  async function withheldEvents(title: string): Promise<{ upload: ClientUpload; assetId: string; events: string[] }> {
    const deliveryMark = stack.muxEmulator.deliveries.length;
    stack.muxEmulator.setWebhookUrl(null);
    try {
      const upload = await uploadVideo(stack, alice, title, { bytes: smallVideo, options: { captions: true, mp4: true } });
      await stack.idle();
      const [asset] = assetsFor(stack, upload.id);
      if (!asset) throw new Error(`no asset for ${title}`);
      const events = stack.muxEmulator.deliveries.slice(deliveryMark).filter((delivery) => delivery.assetId === asset.id).map((delivery) => delivery.body);
      return { upload, assetId: asset.id, events };
    } finally {
      stack.muxEmulator.setWebhookUrl(`${stack.url}/api/webhooks/mux`);
    }
  }

  const eventType = (body: string) => (JSON.parse(body) as { type: string }).type;

  it('any order and any number of copies of the genuine events end in the same state', async (context) => {
    const logMark = stack.logs.length;
    const uploads: ClientUpload[] = [];
    let delivered = 0;
    let outOfOrder = 0;
    const types = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 16, maxLength: 16 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 16, maxLength: 16 }),
        async (sortKeys, copies) => {
          const { upload, assetId, events } = await withheldEvents(`webhook-order-${uploads.length}`);
          uploads.push(upload);
          expect(events.length).toBeLessThanOrEqual(sortKeys.length);
          for (const body of events) types.add(eventType(body));
          const order = events.map((body, index) => ({ body, key: sortKeys[index] ?? 0, copies: copies[index] ?? 1 })).sort((a, b) => a.key - b.key);
          if (order.some((entry, index) => entry.body !== events[index])) outOfOrder += 1;
          for (const entry of order) {
            for (let copy = 0; copy < entry.copies; copy += 1) {
              const response = await postSignedWebhook(stack, entry.body);
              expect(response.status, `${eventType(entry.body)}: ${response.text}`).toBeGreaterThanOrEqual(200);
              expect(response.status, `${eventType(entry.body)}: ${response.text}`).toBeLessThan(300);
              delivered += 1;
            }
          }
          const { video } = (await getVideo(stack, alice, upload.id)).body;
          const asset = stack.muxEmulator.assets.get(assetId);
          expect(video).toMatchObject({
            status: 'ready',
            mux: { status: 'ready', assetId, playbackId: asset?.json.playback_ids?.[0]?.id, durationSeconds: 12, aspectRatio: '16:9', error: null },
          });
          expect(video.mux?.mp4Url, 'the static rendition event was applied').not.toBeNull();
          expect(video.captions?.webvttUrl, 'the text track event was applied').not.toBeNull();
        },
      ),
      { numRuns: 8 },
    );
    const end = await expectEndState(stack, alice, uploads, 'ready');
    const seen = logCounts(stack, logMark, webhookEvents);
    recordFigures(context, {
      scenario,
      case: `genuine events (${[...types].sort().join(', ')}) in random order, 1–3 copies each (fast-check)`,
      injected: { 'events delivered': delivered, 'videos whose events were reordered': outOfOrder },
      observed: { 'applied': seen['mux_webhook.applied'] ?? 0, 'duplicates ignored (204)': seen['mux_webhook.duplicate'] ?? 0, 'refused by a guard': seen['mux_webhook.ignored'] ?? 0 },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });

  it("Mux's own duplicates and reordering end ready", async (context) => {
    await stack.idle();
    stack.muxEmulator.faults.duplicateNextEvents(12);
    stack.muxEmulator.faults.reorderNextAssets(3);
    const logMark = stack.logs.length;
    const deliveryMark = stack.muxEmulator.deliveries.length;
    const uploads = await Promise.all(['a', 'b', 'c'].map((suffix) => uploadVideo(stack, alice, `webhook-emulated-${suffix}`, { bytes: smallVideo })));
    const end = await expectEndState(stack, alice, uploads, 'ready');
    const duplicates = stack.muxEmulator.deliveries.slice(deliveryMark).filter((delivery) => delivery.duplicate).length;
    expect(duplicates).toBeGreaterThan(0);
    const seen = logCounts(stack, logMark, webhookEvents);
    recordFigures(context, {
      scenario,
      case: 'duplicated and reordered by the emulator',
      injected: { 'duplicate deliveries (same event id)': duplicates, 'assets with ready before created': 3 },
      observed: { 'duplicates ignored (204)': seen['mux_webhook.duplicate'] ?? 0, 'refused by a guard': seen['mux_webhook.ignored'] ?? 0 },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });

  describe('events that must change nothing', () => {
    let waiting: { upload: ClientUpload; assetId: string; events: string[] };
    let before: VideoJson;
    const refusals = { stale: 0, altered: 0, forged: 0, unsigned: 0 };

    beforeAll(async () => {
      waiting = await withheldEvents('webhook-hostile');
      before = (await getVideo(stack, alice, waiting.upload.id)).body.video;
      expect(before.status).toBe('processing');
    });

    const expectRefused = async (body: string, signature: string | undefined) => {
      const response = await stack.request('POST', '/api/webhooks/mux', { body, headers: signature === undefined ? {} : { 'mux-signature': signature } });
      expect(response.status, response.text).toBe(401);
      expect((response.body as { error?: { code?: string } }).error?.code).toBe('unauthorized');
    };
    const anyEvent = () => fc.integer({ min: 0, max: 100 }).map((index) => waiting.events[index % waiting.events.length] as string);
    const secret = () => stack.env.MUX_WEBHOOK_SECRET as string;
    const now = () => Math.floor(Date.now() / 1000);

    it('replays signed more than 300 s ago are refused', async () => {
      await fc.assert(
        fc.asyncProperty(anyEvent(), fc.integer({ min: 301, max: 30 * 24 * 3600 }), async (body, age) => {
          await expectRefused(body, muxSignatureHeader(body, secret(), now() - age));
          refusals.stale += 1;
        }),
        { numRuns: 60 },
      );
    });

    it('bodies altered after signing are refused', async () => {
      await fc.assert(
        fc.asyncProperty(anyEvent(), fc.nat(), fc.string({ minLength: 1, maxLength: 8 }), async (body, at, inserted) => {
          const signature = muxSignatureHeader(body, secret(), now());
          const position = at % body.length;
          const altered = body.slice(0, position) + inserted + body.slice(position);
          await expectRefused(altered, signature);
          refusals.altered += 1;
        }),
        { numRuns: 60 },
      );
    });

    it('forged and unsigned events are refused', async () => {
      await fc.assert(
        fc.asyncProperty(anyEvent(), fc.string({ minLength: 1, maxLength: 64 }), fc.boolean(), async (body, wrongSecret, unsigned) => {
          fc.pre(wrongSecret !== secret());
          await expectRefused(body, unsigned ? undefined : muxSignatureHeader(body, wrongSecret, now()));
          if (unsigned) refusals.unsigned += 1;
          else refusals.forged += 1;
        }),
        { numRuns: 60 },
      );
    });

    it('left the video exactly as it was', async (context) => {
      const after = (await getVideo(stack, alice, waiting.upload.id)).body.video;
      expect(after).toEqual(before);
      recordFigures(context, {
        scenario,
        case: 'stale (> 300 s), altered after signing, forged, unsigned',
        injected: { 'stale replays': refusals.stale, 'altered bodies': refusals.altered, 'forged signatures': refusals.forged, 'unsigned': refusals.unsigned },
        observed: { 'answered 401': refusals.stale + refusals.altered + refusals.forged + refusals.unsigned, 'videos changed': 0 },
        checked: 1,
        lost: 0,
        extraAssets: 0,
      });
    });
  });
});
