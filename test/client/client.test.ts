/**
 * The typed client (client/) against the local stack, as an app on Node uses it: every route, uploads single and
 * multipart, resume after a restart that sends only the missing parts, cancel, and retries through injected failures.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fetchTransport,
  MemoryResumeStore,
  ReelayApiError,
  ReelayClient,
  UploadAbortedError,
  type PutTransport,
  type ReelayClientOptions,
  type UploadProgressEvent,
} from '../../client/index.js';
import { MiB } from '../../shared/storage/config.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { assetsFor, isReady, videoBytes, waitForVideo } from '../stack/support.js';

const immediately = { sleep: async () => undefined };

describe('the typed client against the local stack', () => {
  let stack: TestStack;
  let alice: string;
  let admin: string;
  const clientFor = (token: string, options: Partial<ReelayClientOptions> = {}) =>
    new ReelayClient({ baseUrl: stack.url, token, retryTools: immediately, ...options });

  beforeAll(async () => {
    stack = await startTestStack({ lambdaEnv: { MULTIPART_THRESHOLD_BYTES: String(5 * MiB) } });
    [alice, admin] = await Promise.all([stack.tokens.mint(`alice-${randomUUID()}`), stack.tokens.mint(`admin-${randomUUID()}`, { admin: true })]);
  });
  afterAll(() => stack?.dispose());

  it('uploads a small file in one PUT; the video reaches ready', async () => {
    const progress: UploadProgressEvent[] = [];
    const client = clientFor(alice);
    const uploaded = await client.upload(new Blob([videoBytes(1 * MiB)], { type: 'video/mp4' }), {
      title: 'one put',
      filename: 'one-put.mp4',
      onProgress: (event) => progress.push(event),
    });
    // Stored; the video moves on when S3's event reaches ingest.
    expect(uploaded.status).toBe('awaiting_upload');
    expect(progress.at(-1)).toEqual({ sent: MiB, total: MiB });
    const ready = await waitForVideo(stack, alice, uploaded.id, isReady);
    expect(assetsFor(stack, ready.id)).toHaveLength(1);
  });

  it('uploads a large file in parts, several at once, with progress up to its size', async () => {
    const bytes = videoBytes(17 * MiB);
    const sent: number[] = [];
    const puts = countingTransport();
    const video = await clientFor(alice).upload(new Blob([bytes]), {
      title: 'in parts',
      filename: 'in-parts.mov',
      concurrency: 2,
      transport: puts.transport,
      onProgress: ({ sent: bytesSent }) => sent.push(bytesSent),
    });
    expect(video.contentType).toBe('video/quicktime');
    expect(['uploaded', 'processing', 'ready']).toContain(video.status);
    expect(puts.parts().sort()).toEqual([1, 2, 3]);
    expect(puts.mostAtOnce(), 'two parts in flight at once').toBe(2);
    expect(sent.at(-1)).toBe(bytes.length);
    expect(sent).toEqual([...sent].sort((a, b) => a - b));
    await waitForVideo(stack, alice, video.id, isReady);
  });

  it('resumes after a restart: a new client with the saved store sends only the parts S3 does not hold', async () => {
    const bytes = new Blob([videoBytes(17 * MiB)]);
    const store = new MemoryResumeStore();
    const pause = new AbortController();
    const first = countingTransport(() => pause.abort());
    const paused = await clientFor(alice)
      .upload(bytes, { title: 'resumed', filename: 'resumed.mp4', concurrency: 1, resumeStore: store, resumeKey: 'resumed.mp4', signal: pause.signal, onAbort: 'pause', transport: first.transport })
      .catch((error: unknown) => error);
    expect(paused).toBeInstanceOf(UploadAbortedError);
    expect((paused as UploadAbortedError).mode).toBe('pause');
    const videoId = (paused as UploadAbortedError).videoId;
    expect(videoId).toEqual(expect.any(String));
    expect(first.parts()).toEqual([1]);

    // The process ends; what survives is the store's JSON.
    const saved = JSON.parse(JSON.stringify(store)) as ReturnType<MemoryResumeStore['toJSON']>;
    const restartedStore = MemoryResumeStore.from(saved);
    const second = countingTransport();
    const resumedFlags: boolean[] = [];
    const video = await clientFor(alice).upload(bytes, {
      title: 'resumed',
      filename: 'resumed.mp4',
      resumeStore: restartedStore,
      resumeKey: 'resumed.mp4',
      transport: second.transport,
      onCreated: (_video, { resumed }) => resumedFlags.push(resumed),
    });
    expect(video.id).toBe(videoId);
    expect(resumedFlags).toEqual([true]);
    expect(second.parts().sort()).toEqual([2, 3]);
    expect(restartedStore.entries()).toEqual([]);
    await waitForVideo(stack, alice, video.id, isReady);
    expect(assetsFor(stack, video.id)).toHaveLength(1);
  });

  it('cancels through its AbortSignal: the upload is aborted at the API and forgotten', async () => {
    const store = new MemoryResumeStore();
    const cancel = new AbortController();
    const puts = countingTransport(() => cancel.abort());
    const outcome = await clientFor(alice)
      .upload(new Blob([videoBytes(17 * MiB)]), { title: 'cancelled', filename: 'cancelled.mp4', concurrency: 1, resumeStore: store, signal: cancel.signal, transport: puts.transport })
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(UploadAbortedError);
    const { videoId, mode } = outcome as UploadAbortedError;
    expect(mode).toBe('cancel');
    expect((await clientFor(alice).getVideo(videoId ?? '')).status).toBe('cancelled');
    expect(store.entries()).toEqual([]);
  });

  it('retries injected 5xx answers from storage and from the API, and a create whose answer was lost', async () => {
    let storageFailures = 0;
    const base = fetchTransport();
    const flaky: PutTransport = async (request) => {
      // Every part fails once with a 503 before it is sent.
      const part = new URL(request.url).searchParams.get('partNumber') ?? 'single';
      if (!failedOnce.has(part)) {
        failedOnce.add(part);
        storageFailures += 1;
        return { status: 503, etag: null };
      }
      return base(request);
    };
    const failedOnce = new Set<string>();
    let apiFailures = 0;
    let createsSent = 0;
    const lossyFetch: typeof fetch = async (input, init) => {
      const url = String(input);
      if (init?.method === 'POST' && url.endsWith('/api/videos/upload')) {
        createsSent += 1;
        // The first create reaches the API, but its answer is lost (a 502 from a proxy in between).
        if (createsSent === 1) {
          await fetch(input, init);
          apiFailures += 1;
          return new Response('{"message":"Bad Gateway"}', { status: 502 });
        }
      }
      if (init?.method === 'GET' && url.includes('/upload/parts') && apiFailures === 1) {
        apiFailures += 1;
        return new Response('{"message":"Service Unavailable"}', { status: 503 });
      }
      return fetch(input, init);
    };
    const client = clientFor(alice, { fetch: lossyFetch });
    const before = (await client.listVideos({ limit: 100 })).videos.length;
    const video = await client.upload(new Blob([videoBytes(17 * MiB)]), { title: 'flaky', filename: 'flaky.mp4', transport: flaky });
    expect(createsSent).toBe(2);
    expect(apiFailures).toBe(2);
    expect(storageFailures).toBe(3);
    expect((await client.listVideos({ limit: 100 })).videos.length).toBe(before + 1);
    await waitForVideo(stack, alice, video.id, isReady);
    expect(assetsFor(stack, video.id)).toHaveLength(1);
  });

  it('gives up after its tries and reports storage’s status', async () => {
    const failing: PutTransport = async () => ({ status: 500, etag: null });
    const client = clientFor(alice, { retry: { attempts: 2 } });
    await expect(client.upload(new Blob([videoBytes(MiB)]), { title: 'no storage', filename: 'x.mp4', transport: failing })).rejects.toMatchObject({ name: 'StorageError', status: 500 });
  });

  it('throws the API’s refusals as typed errors', async () => {
    const client = clientFor(alice);
    const refused = await client.createUpload({ title: 'a text', filename: 'notes.txt', contentType: 'text/plain', size: 10 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ReelayApiError);
    expect(refused).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    const invalid = await client.createUpload({ title: '', filename: 'a.mp4', contentType: 'video/mp4', size: 10 }).catch((error: unknown) => error);
    expect(invalid).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((invalid as ReelayApiError).details.length).toBeGreaterThan(0);
    const anonymous = new ReelayClient({ baseUrl: stack.url });
    let unauthorized = 0;
    const signedOut = new ReelayClient({ baseUrl: stack.url, onUnauthorized: () => (unauthorized += 1) });
    await expect(anonymous.listVideos()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    await expect(signedOut.getVideo(randomUUID())).rejects.toMatchObject({ status: 401 });
    expect(unauthorized).toBe(1);
    await expect(client.getVideo(randomUUID())).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('lists page by page, edits and deletes', async () => {
    const owner = await stack.tokens.mint(`pages-${randomUUID()}`);
    const client = clientFor(owner);
    const ids: string[] = [];
    for (const title of ['first', 'second', 'third']) {
      const created = await client.createUpload({ title, filename: `${title}.mp4`, contentType: 'video/mp4', size: 1_000 }, { idempotencyKey: randomUUID() });
      expect(created.replayed).toBe(false);
      ids.push(created.video.id);
    }
    const firstPage = await client.listVideos({ limit: 2 });
    expect(firstPage.videos).toHaveLength(2);
    expect(firstPage.nextCursor).toEqual(expect.any(String));
    const all = [];
    for await (const video of client.videos({ limit: 2 })) all.push(video.id);
    expect(all.sort()).toEqual([...ids].sort());

    const edited = await client.updateVideo(ids[0] ?? '', { title: 'renamed', description: 'with words' });
    expect(edited).toMatchObject({ title: 'renamed', description: 'with words' });
    expect((await client.getVideo(ids[0] ?? '')).title).toBe('renamed');

    await client.abortUpload(ids[1] ?? '');
    await client.abortUpload(ids[1] ?? '');
    expect((await client.getVideo(ids[1] ?? '')).status).toBe('cancelled');
    expect(await client.deleteVideo(ids[1] ?? '')).toEqual({ result: 'deleted' });
    await expect(client.getVideo(ids[1] ?? '')).rejects.toMatchObject({ status: 404 });
  });

  it('calls the admin routes', async () => {
    const client = clientFor(admin);
    expect(await new ReelayClient({ baseUrl: stack.url }).health()).toMatchObject({ status: 'ok' });
    expect(await client.healthDetails()).toHaveProperty('status');
    expect(await client.migrationStatus()).toHaveProperty('pending');
    expect(await client.videoDiagnostics()).toBeTypeOf('object');
    await expect(clientFor(alice).videoDiagnostics()).rejects.toMatchObject({ status: 403, code: 'forbidden' });
  });
});

/** A fetch transport that records which part numbers were sent, and runs `afterFirst` once the first one is stored. */
function countingTransport(afterFirst?: () => void) {
  const sent: number[] = [];
  let inFlight = 0;
  let mostAtOnce = 0;
  const base = fetchTransport();
  const transport: PutTransport = async (request) => {
    inFlight += 1;
    mostAtOnce = Math.max(mostAtOnce, inFlight);
    const answer = await base(request).finally(() => (inFlight -= 1));
    const partNumber = new URL(request.url).searchParams.get('partNumber');
    if (answer.status === 200 && partNumber !== null) {
      sent.push(Number(partNumber));
      if (sent.length === 1) afterFirst?.();
    }
    return answer;
  };
  return { transport, parts: () => [...sent], mostAtOnce: () => mostAtOnce };
}
