/**
 * Black box over HTTP against the local stack: what an attacker holding a user's upload URL, token or
 * Idempotency-Key can try, and what reelay answers.
 * - Upload URLs write once: a replayed PUT after the video is ready, a PUT after DELETE …/upload, a PUT already on its
 *   way when the DELETE lands, a repeated multipart completion — each refused, the stored object unchanged (or, for a
 *   cancelled video, no uploaded byte kept), no second Mux asset.
 * - Bad input is a 4xx: NUL bytes and unpaired surrogates in every text field, the cursor, the path and the
 *   Idempotency-Key, huge numbers — each a 400, nothing written.
 * - One request per Idempotency-Key: the key reused with other options or another description is a 409 naming the
 *   fields; the same request is replayed, and Mux gets the options the first request asked for.
 */
import { createHash, randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB } from '../../shared/storage/config.js';
import type { TestStack } from '../support/local-stack.js';
import { putPart, putSingle, startSinglePut, type CreatedUpload, type ErrorBody, type MultipartUpload, type SingleUpload } from '../stack/support.js';
import {
  assetsFor,
  createUpload,
  finalVideo,
  getVideo,
  recordFigures,
  smallVideo,
  stackDatabase,
  startReliabilityStack,
  uploadRequest,
  videoBytes,
  type VideoJson,
} from './support.js';

const scenario = '8. Security';
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

describe('upload URLs, bad input and Idempotency-Keys, tried by an attacker over HTTP', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startReliabilityStack({ lambdaEnv: { MULTIPART_THRESHOLD_BYTES: String(5 * MiB) } });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  const keyOf = (video: VideoJson) => `uploads/${video.id}/source.mp4`;
  async function storedMd5(key: string): Promise<string | null> {
    try {
      const object = await stack.s3.client.send(new GetObjectCommand({ Bucket: stack.env.UPLOAD_BUCKET, Key: key }));
      return md5(await object.Body?.transformToByteArray() ?? new Uint8Array());
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return null;
      throw error;
    }
  }
  async function writtenState() {
    const driver = await stackDatabase(stack);
    try {
      const { rows } = await driver.execute<{ videos: number }>('SELECT CAST(count(*) AS int) AS videos FROM videos');
      const objects = await stack.s3.client.send(new ListObjectsV2Command({ Bucket: stack.env.UPLOAD_BUCKET }));
      return { rows: rows[0]?.videos, objects: objects.KeyCount ?? 0, assets: stack.muxEmulator.assets.size };
    } finally {
      await driver.close();
    }
  }

  it('upload URLs write once', async (context) => {
    const statuses: Record<string, number> = {};
    const count = (status: number) => {
      statuses[`answered ${status}`] = (statuses[`answered ${status}`] ?? 0) + 1;
    };
    let changedObjects = 0;
    let keptFiles = 0;
    const rounds = 4;

    // A PUT replayed after the video is ready, with its own URL and with the fresh URL of a retried create.
    const readyVideos: VideoJson[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const key = `replay-${round}`;
      const send = () => stack.request<CreatedUpload>('POST', '/api/videos/upload', { token: alice, json: uploadRequest(smallVideo, { title: `Replayed ${round}` }), headers: { 'idempotency-key': key } });
      const created = (await send()).body;
      const fresh = await send();
      expect((await putSingle(created.upload as SingleUpload, smallVideo)).status).toBe(200);
      const ready = await finalVideo(stack, alice, created.video.id);
      expect(ready.status).toBe('ready');
      const before = await storedMd5(keyOf(ready));
      for (const upload of [created.upload, fresh.body.upload] as SingleUpload[]) {
        const replay = await putSingle(upload, videoBytes(smallVideo.length));
        count(replay.status);
        expect(replay.status).toBe(412);
      }
      if ((await storedMd5(keyOf(ready))) !== before) changedObjects += 1;
      expect((await getVideo(stack, alice, ready.id)).body.video).toEqual(ready);
      readyVideos.push(ready);
    }

    // A PUT after DELETE …/upload, and one already on its way when the DELETE lands.
    const cancelled: VideoJson[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const late = await createUpload(stack, alice, uploadRequest(smallVideo, { title: `Cancelled, then PUT ${round}` }));
      expect((await stack.request('DELETE', `/api/videos/${late.video.id}/upload`, { token: alice })).status).toBe(204);
      const afterCancel = await putSingle(late.upload as SingleUpload, smallVideo);
      count(afterCancel.status);
      expect(afterCancel.status).toBe(412);

      const raced = await createUpload(stack, alice, uploadRequest(smallVideo, { title: `PUT on its way when cancelled ${round}` }));
      const inFlight = startSinglePut(raced.upload as SingleUpload, smallVideo);
      expect((await stack.request('DELETE', `/api/videos/${raced.video.id}/upload`, { token: alice })).status).toBe(204);
      const status = await inFlight.finish();
      count(status);
      expect(status).toBe(412);
      cancelled.push(late.video, raced.video);
    }

    // A multipart upload completed, then completed again.
    const big = videoBytes(9 * MiB);
    const multipart: VideoJson[] = [];
    for (let round = 0; round < 2; round += 1) {
      const created = await createUpload(stack, alice, uploadRequest(big, { title: `Completed twice ${round}` }));
      const upload = created.upload as MultipartUpload;
      const parts = await Promise.all(upload.parts.map(async (part) => ({ partNumber: part.partNumber, etag: await putPart(part, big.subarray((part.partNumber - 1) * upload.partSize, part.partNumber * upload.partSize)) })));
      expect((await stack.request('POST', `/api/videos/${created.video.id}/upload/complete`, { token: alice, json: { parts } })).status).toBe(200);
      const before = await storedMd5(keyOf(created.video));
      const again = await stack.request('POST', `/api/videos/${created.video.id}/upload/complete`, { token: alice, json: { parts } });
      count(again.status);
      expect(again.status).toBe(409);
      if ((await storedMd5(keyOf(created.video))) !== before) changedObjects += 1;
      multipart.push(await finalVideo(stack, alice, created.video.id));
    }

    await stack.idle();
    for (const video of cancelled) {
      const object = await stack.s3.client.send(new GetObjectCommand({ Bucket: stack.env.UPLOAD_BUCKET, Key: keyOf(video) }));
      if ((object.ContentLength ?? 0) > 0) keptFiles += 1;
      expect((await getVideo(stack, alice, video.id)).body.video.status).toBe('cancelled');
      expect(assetsFor(stack, video.id)).toEqual([]);
    }
    const extraAssets = [...readyVideos, ...multipart].reduce((extra, video) => extra + Math.max(0, assetsFor(stack, video.id).length - 1), 0);
    expect(changedObjects).toBe(0);
    expect(keptFiles).toBe(0);
    expect(extraAssets).toBe(0);
    recordFigures(context, {
      scenario,
      case: 'Upload URLs write once: replayed PUTs (own URL, a retried create’s fresh URL), PUTs after and during DELETE …/upload, multipart completed twice',
      injected: {
        'PUTs replayed after the video was ready': 2 * rounds,
        'PUTs after DELETE …/upload': rounds,
        'PUTs on their way when DELETE …/upload landed': rounds,
        'multipart completions repeated': multipart.length,
      },
      observed: { ...statuses, 'stored objects changed': changedObjects, 'uploaded bytes kept for cancelled videos': keptFiles },
      checked: readyVideos.length + cancelled.length + multipart.length,
      lost: [...readyVideos, ...multipart].filter((video) => video.status !== 'ready').length,
      extraAssets,
    });
  });

  it('bad input is a 4xx', async (context) => {
    const before = await writtenState();
    const valid = uploadRequest(smallVideo, { title: 'Never stored', description: 'nor this' });
    // Each as JSON carries it, and as a query string or path spells it (the UTF-8-style bytes of a lone surrogate).
    const unstorable = [
      ['a NUL byte', 'a\u0000b', '%00'],
      ['an unpaired high surrogate', 'a\ud800b', '%ED%A0%80'],
      ['an unpaired low surrogate', '\udc00b', '%ED%B0%80'],
    ] as const;
    const textAttempts: Array<[string, () => Promise<{ status: number; text: string }>]> = [];
    for (const [name, value, encoded] of unstorable) {
      for (const field of ['title', 'description', 'filename', 'contentType'] as const) {
        textAttempts.push([`${name} in ${field}`, () => stack.request('POST', '/api/videos/upload', { token: alice, json: { ...valid, [field]: value } })]);
      }
      textAttempts.push([`${name} in the list cursor`, () => stack.request('GET', `/api/videos?cursor=abc${encoded}def`, { token: alice })]);
      textAttempts.push([`${name} in the video id`, () => stack.request('GET', `/api/videos/${randomUUID().slice(0, 33)}${encoded}`, { token: alice })]);
    }
    textAttempts.push(['a non-ASCII Idempotency-Key', () => stack.request('POST', '/api/videos/upload', { token: alice, json: valid, headers: { 'idempotency-key': 'cl\u00e9' } })]);
    const hugeAttempts: Array<[string, () => Promise<{ status: number; text: string }>]> = [];
    for (const huge of [1e308, -1e308, 2 ** 63]) {
      hugeAttempts.push([`a size of ${huge}`, () => stack.request('POST', '/api/videos/upload', { token: alice, json: { ...valid, size: huge } })]);
      hugeAttempts.push([`a limit of ${huge}`, () => stack.request('GET', `/api/videos?limit=${huge}`, { token: alice })]);
    }
    hugeAttempts.push(['a 200,000-character title', () => stack.request('POST', '/api/videos/upload', { token: alice, json: { ...valid, title: '\u00e9'.repeat(200_000) } })]);
    const attempts = [...textAttempts, ...hugeAttempts];
    const statuses: Record<string, number> = {};
    for (const [name, attempt] of attempts) {
      const answer = await attempt();
      statuses[`HTTP ${answer.status}`] = (statuses[`HTTP ${answer.status}`] ?? 0) + 1;
      expect(answer.status, `${name}: ${answer.text}`).toBe(400);
      expect((JSON.parse(answer.text) as ErrorBody).error.code, name).toBe('validation_failed');
    }
    expect(await writtenState(), 'a rejected request wrote nothing').toEqual(before);
    recordFigures(context, {
      scenario,
      case: 'Bad input is a 4xx: NUL bytes and unpaired surrogates in each text field, the cursor, the path; a bad Idempotency-Key; sizes and limits of 1e308, -1e308, 2^63; a huge title',
      injected: { 'requests with text PostgreSQL cannot store': textAttempts.length, 'requests with huge numbers or strings': hugeAttempts.length },
      observed: { ...statuses, '5xx answers': 0, 'rows, objects or assets written': 0 },
      checked: attempts.length,
      lost: 0,
      extraAssets: 0,
    });
  });

  it('one request per Idempotency-Key', async (context) => {
    const body = uploadRequest(smallVideo, { title: 'Keyed by the client', description: 'first cut', options: { captions: true } });
    const send = (json: unknown) => stack.request<CreatedUpload>('POST', '/api/videos/upload', { token: alice, json, headers: { 'idempotency-key': 'security-key' } });
    const first = await send(body);
    expect(first.status).toBe(201);
    const reuses: Array<[unknown, string[][]]> = [
      [{ ...body, options: { captions: true, mp4: true } }, [['options', 'mp4']]],
      [{ ...body, options: {} }, [['options', 'captions']]],
      [{ ...body, description: 'director’s cut' }, [['description']]],
      [{ ...body, description: undefined }, [['description']]],
      [{ ...body, size: body.size + 1, options: { normalizeAudio: true, captions: true } }, [['size'], ['options', 'normalizeAudio']]],
    ];
    let refused = 0;
    for (const [reuse, fields] of reuses) {
      const answer = await send(reuse);
      expect(answer.status, answer.text).toBe(409);
      expect((answer.body as unknown as ErrorBody).error.details?.map((issue) => (issue as { path: string[] }).path)).toEqual(fields);
      refused += 1;
    }
    const replay = await send({ options: { mp4: false, captions: true }, ...body });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await putSingle(replay.body.upload as SingleUpload, smallVideo)).status).toBe(200);
    const ready = await finalVideo(stack, alice, first.body.video.id);
    const assets = assetsFor(stack, ready.id);
    expect(assets).toHaveLength(1);
    expect(assets[0]?.request).toMatchObject({ inputs: [{ generated_subtitles: [expect.objectContaining({ language_code: 'en' })] }] });
    expect(assets[0]?.request).not.toHaveProperty('static_renditions');
    const driver = await stackDatabase(stack);
    const rows = await driver.execute<{ n: number }>("SELECT CAST(count(*) AS int) AS n FROM videos WHERE title = 'Keyed by the client'").finally(() => driver.close());
    expect(rows.rows[0]?.n).toBe(1);
    recordFigures(context, {
      scenario,
      case: 'One request per Idempotency-Key: the key reused with other options, description or size; then the same request spelled differently',
      injected: { 'key reuses with another request': reuses.length, 'replays of the same request': 1 },
      observed: { 'answered 409 naming the fields': refused, 'answered 201 idempotent-replayed': 1, 'rows for the key': rows.rows[0]?.n ?? 0 },
      checked: reuses.length + 1,
      lost: ready.status === 'ready' ? 0 : 1,
      extraAssets: Math.max(0, assets.length - 1),
    });
  });
});
