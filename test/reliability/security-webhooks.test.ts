/**
 * Webhook fields: correctly signed Mux events whose fields fast-check replaces with NUL bytes,
 * lone surrogates, huge and negative numbers, strings past the columns' lengths and values of the wrong type — in
 * every field that can reach SQL (event id, type, time, object id, asset id, passthrough, playback ids, duration,
 * aspect ratio, asset time, upload id, errors, track ids) — and bodies that are not JSON at all. Every answer is a
 * 2xx (Mux retries anything else for 24 h): 200 when applied, ignored, not reelay's or rejected, 204 for a repeat.
 * Never a 5xx, never a 4xx. The video the events are about stays readable and ends ready with its own asset.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestStack } from '../support/local-stack.js';
import { assetsFor, finalVideo, getVideo, logCounts, postSignedWebhook, recordFigures, smallVideo, startReliabilityStack, uploadVideo } from './support.js';

const scenario = '10. Security: malformed webhook fields';
const runs = 600;

type Json = Record<string, unknown>;

/** Where a value can be put in an asset event envelope. */
const fields: ReadonlyArray<readonly (string | number)[]> = [
  ['id'],
  ['type'],
  ['created_at'],
  ['object', 'id'],
  ['data', 'id'],
  ['data', 'passthrough'],
  ['data', 'status'],
  ['data', 'duration'],
  ['data', 'aspect_ratio'],
  ['data', 'created_at'],
  ['data', 'upload_id'],
  ['data', 'playback_ids'],
  ['data', 'playback_ids', 0, 'id'],
  ['data', 'errors'],
  ['data', 'errors', 'type'],
  ['data', 'errors', 'messages', 0],
  ['data', 'tracks', 0, 'id'],
  ['data', 'tracks'],
  ['data'],
];

const nul = fc.string({ maxLength: 20 }).map((text) => `${text}\u0000${text}`);
const hostileValues = fc.oneof(
  nul,
  fc.constantFrom('\ud800', 'a\udfffb', '\u0000', '\u202e', '😀'.repeat(200)),
  fc.string({ minLength: 256, maxLength: 5_000 }),
  fc.constantFrom(1e308, -1e308, 2 ** 31, 2 ** 53, -1, 0.5, Number.MAX_VALUE, Number.MIN_VALUE, 1e15, -0),
  fc.double(),
  fc.constantFrom(null, true, false, [], {}, [null], { id: null }, '', ' ', 'null', '9999-99-99T99:99:99Z', '+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00Z'),
  fc.integer(),
  fc.jsonValue({ maxDepth: 2 }),
);

function setAt(target: Json, path: readonly (string | number)[], value: unknown): void {
  let node = target as Record<string | number, unknown>;
  for (let depth = 0; depth < path.length - 1; depth += 1) {
    const key = path[depth] as string | number;
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = typeof path[depth + 1] === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  }
  node[path[path.length - 1] as string | number] = value;
}

describe('signed webhooks with fields reelay cannot store', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startReliabilityStack();
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  it('answers every one with a 2xx and never breaks the video', async (context) => {
    // A video whose asset is stored and whose genuine events are held back: each mutated copy aims at it.
    stack.muxEmulator.setWebhookUrl(null);
    const deliveryMark = stack.muxEmulator.deliveries.length;
    let genuine: string[];
    let upload: { id: string };
    try {
      upload = await uploadVideo(stack, alice, 'fuzzed-webhooks', { bytes: smallVideo, options: { captions: true } });
      await stack.idle();
      const [asset] = assetsFor(stack, upload.id);
      genuine = stack.muxEmulator.deliveries.slice(deliveryMark).filter((delivery) => delivery.assetId === asset?.id).map((delivery) => delivery.body);
    } finally {
      stack.muxEmulator.setWebhookUrl(`${stack.url}/api/webhooks/mux`);
    }
    expect(genuine.length).toBeGreaterThanOrEqual(2);
    const logMark = stack.logs.length;
    const statuses: Record<string, number> = {};
    const results: Record<string, number> = {};
    let notJson = 0;

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...genuine),
        fc.array(fc.tuple(fc.constantFrom(...fields), hostileValues), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.nat({ max: 20 }),
        async (base, mutations, fresh, truncate) => {
          const event = JSON.parse(base) as Json;
          if (fresh) event.id = randomUUID();
          for (const [path, value] of mutations) setAt(event, path, value);
          let body = JSON.stringify(event);
          // One in twenty: cut short, no longer JSON.
          if (truncate === 0) {
            body = body.slice(0, Math.max(1, Math.floor(body.length / 2)));
            notJson += 1;
          }
          const answer = await postSignedWebhook(stack, body);
          statuses[`HTTP ${answer.status}`] = (statuses[`HTTP ${answer.status}`] ?? 0) + 1;
          expect(answer.status, `${JSON.stringify(mutations).slice(0, 300)} → ${answer.text.slice(0, 300)}`).toBeGreaterThanOrEqual(200);
          expect(answer.status, `${JSON.stringify(mutations).slice(0, 300)} → ${answer.text.slice(0, 300)}`).toBeLessThan(300);
          if (answer.status === 200) {
            const result = String((answer.body as { result?: unknown }).result);
            results[result] = (results[result] ?? 0) + 1;
          }
          expect((await getVideo(stack, alice, upload.id)).status).toBe(200);
        },
      ),
      { numRuns: runs },
    );

    // The genuine events still apply afterwards.
    for (const body of genuine) expect((await postSignedWebhook(stack, body.replace(/"id":"[0-9a-f-]{36}"/, `"id":"${randomUUID()}"`))).status).toBeLessThan(300);
    const video = await finalVideo(stack, alice, upload.id);
    const [asset] = assetsFor(stack, upload.id);
    expect(video).toMatchObject({ status: 'ready', mux: { status: 'ready', assetId: asset?.id } });
    const seen = logCounts(stack, logMark, ['mux_webhook.rejected', 'mux_webhook.not_owned', 'mux_webhook.ignored', 'mux_webhook.applied', 'mux_webhook.duplicate']);
    expect(seen['mux_webhook.rejected']).toBeGreaterThan(runs / 4);
    recordFigures(context, {
      scenario,
      case: `${runs} correctly signed events with NUL bytes, lone surrogates, huge numbers, long strings and wrong types in the fields that reach SQL, and truncated bodies (fast-check)`,
      injected: { 'signed events': runs, 'of which not JSON': notJson },
      observed: { ...statuses, ...Object.fromEntries(Object.entries(results).map(([result, count]) => [`result ${result}`, count])), '5xx answers': 0, '4xx answers': 0 },
      checked: runs,
      lost: 0,
      extraAssets: 0,
    });
  });
});
