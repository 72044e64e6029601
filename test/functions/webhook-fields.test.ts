/**
 * A correctly signed webhook whose fields cannot be stored (a NUL in an id, a duration of 1e308, a playback id past
 * VARCHAR(255), a time outside what a timestamp holds, a field of the wrong type, a body that is not JSON) is
 * acknowledged with 200, recorded as rejected (processed_at NULL, under a digest when the id itself is unusable) and
 * logged, never a 5xx that Mux would retry for 24 h nor a 4xx it would retry just the same; it changes no video.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoRecord } from '../../shared/db/video-fields.js';
import { backends } from '../support/databases.js';
import { startPipeline, type Pipeline } from '../videos/ingest-support.js';

type Json = Record<string, unknown>;

/** Each case mutates a valid `video.asset.ready` envelope for the video's own asset. */
const cases: ReadonlyArray<[string, (envelope: Json & { data: Json; object: Json }) => void]> = [
  ['an event id with a NUL byte', (event) => void (event.id = `${String(event.id)}\u0000`)],
  ['an event id of 300 characters', (event) => void (event.id = 'e'.repeat(300))],
  ['an event type with a NUL byte', (event) => void (event.type = 'video.asset.ready\u0000')],
  ['an object id with a NUL byte', (event) => void (event.object.id = 'asset\u0000')],
  ['an envelope time in year 1', (event) => void (event.created_at = '0001-01-01T00:00:00.000Z')],
  ['an envelope time past year 9999', (event) => void (event.created_at = '+020000-01-01T00:00:00.000Z')],
  ['an envelope time that is not a time', (event) => void (event.created_at = 'yesterday')],
  ['a duration of 1e308', (event) => void (event.data.duration = 1e308)],
  ['a duration past INTEGER', (event) => void (event.data.duration = 2 ** 31)],
  ['a negative duration', (event) => void (event.data.duration = -1)],
  ['a duration that is a string', (event) => void (event.data.duration = '12')],
  ['an asset created_at of 1e15 seconds', (event) => void (event.data.created_at = 1e15)],
  ['an asset created_at that is not a number', (event) => void (event.data.created_at = '12abc')],
  ['a playback id of 300 characters', (event) => void (event.data.playback_ids = [{ id: 'p'.repeat(300), policy: 'public' }])],
  ['a playback id with a slash', (event) => void (event.data.playback_ids = [{ id: '../../x', policy: 'public' }])],
  ['playback ids that are not a list', (event) => void (event.data.playback_ids = 'p1')],
  ['an aspect ratio past VARCHAR(20)', (event) => void (event.data.aspect_ratio = '1'.repeat(21))],
  ['an upload id with a NUL byte', (event) => void (event.data.upload_id = 'u\u0000')],
  ['an error message with a NUL byte', (event) => void Object.assign(event.data, { status: 'errored', errors: { type: 'invalid_input', messages: ['bad\u0000'] } })],
  ['an error message with a lone surrogate', (event) => void Object.assign(event.data, { status: 'errored', errors: { type: 'invalid_input', messages: ['bad\ud800'] } })],
  ['a text track id with a NUL byte', (event) => void (event.data.tracks = [{ id: 't\u0000', type: 'text', text_source: 'generated_vod', status: 'ready', language_code: 'en' }])],
  [
    'an asset id that is a number',
    (event) => {
      event.data.id = 42;
      delete event.object.id;
    },
  ],
];

describe.each(backends)('webhook fields that cannot be stored, on %s', (backend) => {
  let pipeline: Pipeline;
  let video: VideoRecord;
  let ready: Json & { data: Json; object: Json };

  beforeAll(async () => {
    pipeline = await startPipeline(backend);
    const { video: uploaded } = await pipeline.upload({ status: 'uploaded' });
    await pipeline.videos.claimIngest(uploaded.id, { from: ['uploaded'] });
    const { assetId } = await pipeline.createReelayAsset(uploaded, 1);
    await pipeline.mux.whenIdle();
    const delivery = pipeline.mux.deliveries.find((candidate) => candidate.assetId === assetId && candidate.type === 'video.asset.ready');
    ready = JSON.parse(delivery!.body) as typeof ready;
    video = (await pipeline.videos.findById(uploaded.id))!;
  });
  afterAll(async () => {
    await pipeline.close();
  });

  const recordedAsRejected = async (eventId: string) => {
    const { rows } = await pipeline.db.driver.execute<{ processed_at: Date | null }>('SELECT processed_at FROM mux_webhook_events WHERE event_id = :eventId', { eventId });
    return rows.length === 1 && rows[0]?.processed_at === null;
  };

  it.each(cases)('acknowledges %s as rejected, records it once, and changes nothing', async (_name, mutate) => {
    const event = structuredClone(ready);
    event.id = crypto.randomUUID();
    mutate(event);
    const body = JSON.stringify(event);

    const first = await pipeline.postWebhook(body);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ result: 'rejected' });
    const eventId = (first.body as { eventId: string }).eventId;
    expect(await recordedAsRejected(eventId)).toBe(true);
    expect(pipeline.logger.lines.some((line) => line.event === 'mux_webhook.rejected' && line.eventId === eventId)).toBe(true);
    // Mux delivers it again: already recorded.
    expect((await pipeline.postWebhook(body)).status).toBe(204);
    expect(await pipeline.videos.findById(video.id)).toEqual(video);
  });

  it('acknowledges a signed body that is not JSON, under a digest of the body', async () => {
    const answer = await pipeline.postWebhook('{"type": "video.asset.ready", "id": "x\u0000');
    expect(answer).toMatchObject({ status: 200, body: { result: 'rejected', type: 'invalid', eventId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) } });
    expect(await recordedAsRejected((answer.body as { eventId: string }).eventId)).toBe(true);
  });

  it('still applies the same event with valid fields', async () => {
    const answer = await pipeline.postWebhook(JSON.stringify(ready));
    expect(answer).toMatchObject({ status: 200, body: { result: 'applied', videoId: video.id } });
    expect((await pipeline.videos.findById(video.id))?.status).toBe('ready');
  });
});
