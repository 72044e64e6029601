/**
 * Restart: the real `npm start` (node --import tsx local/start.ts, its own state folder and ports) is killed in the
 * middle of a burst of uploads — SIGKILL in one case, SIGTERM in the other — and started again on the same state,
 * while the burst goes on against it. Every upload whose client got a success (the create's 201 and the PUT's 200)
 * must reach `ready` within a bounded time, with one Mux asset, and none may stay `awaiting_upload`, `uploaded` or
 * `processing`; the thumbnails of videos that were ready before the kill still load after it.
 *
 * The clients are plain HTTP clients (fetch), as a browser is: a request cut by the kill is a failure, not retried,
 * and is not counted as a success. The Mux assets are read from the emulator's own state file (its record of every
 * asset, which it keeps across restarts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalAuth } from '../../local/auth/local-auth.js';
import { repositoryRoot } from '../../local/stack.js';
import { buildConsoleIfStale } from '../../web/build.js';
import { putSingle, uploadRequest, type CreatedUpload, type SingleUpload, type VideoJson } from '../stack/support.js';
import { mapWithLimit, recordFigures, smallVideo, titles } from './support.js';

const scenario = 'N. Restart of npm start';
const uploadsInBurst = 40;
const clientConcurrency = 6;
/** The kill comes once this many uploads have succeeded: mid-burst, with ingests and webhooks in flight. */
const killAfterSuccesses = 15;
/** How long every successful upload is given to reach `ready` once the stack is back. */
const readyWithinMs = 45_000;
const unsettled = new Set(['awaiting_upload', 'uploaded', 'processing']);

/** Every process started, so none outlives the file (a start that timed out included). */
const spawned = new Set<ChildProcess>();

interface StartedProcess {
  readonly child: ChildProcess;
  readonly api: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly lines: string[];
}

/** Five consecutive free ports (the API's, then the Data API's, S3's, the emulator's and EventBridge's). */
async function freePortRun(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let tries = 0; tries < 50; tries += 1) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let all = true;
    for (let port = base; port < base + 5 && all; port += 1) all = await free(port);
    if (all) return base;
  }
  throw new Error('no run of five free ports');
}

/** `npm start` as its script runs it, with nothing from the developer's shell that would point it elsewhere. */
async function startStack(stateDir: string, port: number): Promise<StartedProcess> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', LOG_LEVEL: 'info' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', '--port', String(port), '--state-dir', stateDir, '--log=json', '--reconcile-every', '3'], {
    cwd: repositoryRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const api = await new Promise<string>((resolve, reject) => {
    // Generous: the first start creates the database, and the machine may be busy.
    const timer = setTimeout(() => reject(new Error(`npm start did not come up in 150 s:\n${lines.slice(-20).join('\n')}\n${stderr}`)), 150_000);
    let api: string | undefined;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('{')) {
        const parsed = JSON.parse(line) as { event?: string; api?: string };
        if (parsed.event === 'local_stack.started' && typeof parsed.api === 'string') api = parsed.api;
      }
      // Resolved at the started event, before the summary: a signal sent at once must find start.ts listening.
      if (api !== undefined) {
        clearTimeout(timer);
        resolve(api);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code ?? signal}) before it was up:\n${stderr}`));
    });
  });
  return { child, api, exited, lines };
}

async function getJson<T>(url: string, token: string): Promise<{ status: number; body: T | undefined }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as T) };
}

/** What one client did: created, uploaded (both answered 2xx), or stopped by an error (the kill). */
interface ClientResult {
  readonly title: string;
  readonly id: string | null;
  readonly succeeded: boolean;
  readonly error?: string;
}

/** One client: create the upload, PUT the file to the presigned URL; any failure ends it (no retry). */
async function uploadOnce(api: string, token: string, title: string): Promise<ClientResult> {
  let id: string | null = null;
  try {
    const created = await fetch(`${api}/api/videos/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(uploadRequest(smallVideo, { title })),
    });
    if (created.status !== 201) return { title, id, succeeded: false, error: `create ${created.status} ${await created.text()}` };
    const body = (await created.json()) as CreatedUpload;
    id = body.video.id;
    const put = await putSingle(body.upload as SingleUpload, smallVideo);
    await put.arrayBuffer();
    return put.status === 200 ? { title, id, succeeded: true } : { title, id, succeeded: false, error: `PUT ${put.status}` };
  } catch (error) {
    return { title, id, succeeded: false, error: (error as Error).message };
  }
}

/** The emulator's assets as it keeps them on disk: id, passthrough, deleted. */
function emulatorAssets(stateDir: string): Array<{ id: string; passthrough: string | undefined; deleted: boolean }> {
  const state = JSON.parse(readFileSync(join(stateDir, 'mux', 'assets.json'), 'utf8')) as { assets: Array<{ id: string; json: { passthrough?: string }; deleted: boolean }> };
  return state.assets.map((asset) => ({ id: asset.id, passthrough: asset.json.passthrough, deleted: asset.deleted }));
}

async function stopAll(): Promise<void> {
  for (const child of spawned) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
  spawned.clear();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('npm start killed mid-burst and started again', () => {
  const running: StartedProcess[] = [];
  const folders: string[] = [];

  let template: string;
  beforeAll(async () => {
    // Built once here, so neither start rebuilds the console (and a kill never lands in the middle of a build).
    await buildConsoleIfStale();
    // A first start creates and migrates the database (most of a minute on a busy machine); each case starts from a
    // copy of that state, as a developer's second `npm start` does.
    template = await mkdtemp(join(tmpdir(), 'reelay-restart-template-'));
    folders.push(template);
    const started = await startStack(template, await freePortRun());
    // At once: npm start stops cleanly on a SIGTERM that comes as it reports itself up.
    started.child.kill('SIGTERM');
    const exit = await started.exited;
    expect(exit, started.lines.slice(-5).join('\n')).toEqual({ code: 0, signal: null });
  });
  afterAll(async () => {
    await stopAll();
    for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const started of running.splice(0)) {
      if (started.child.exitCode === null && started.child.signalCode === null) {
        started.child.kill('SIGKILL');
        await started.exited;
      }
    }
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${signal}: every upload a client saw succeed reaches ready, one asset each`, async (context) => {
      const stateDir = await mkdtemp(join(tmpdir(), `reelay-restart-${signal.toLowerCase()}-`));
      folders.push(stateDir);
      await cp(template, stateDir, { recursive: true });
      const port = await freePortRun();
      const first = await startStack(stateDir, port);
      running.push(first);
      const auth = await createLocalAuth({ dir: join(stateDir, 'auth') });
      const token = await auth.mintToken({ sub: `restart-${randomUUID()}` });

      let successes = 0;
      let killedAt: number | null = null;
      let upAt = 0;
      let restarted: Promise<StartedProcess> | null = null;
      let readyBeforeKill: VideoJson[] = [];
      const kill = async () => {
        // The videos ready now: their thumbnails must still load after the restart.
        const listed = await getJson<{ videos: VideoJson[] }>(`${first.api}/api/videos?limit=100`, token);
        readyBeforeKill = (listed.body?.videos ?? []).filter((video) => video.status === 'ready' && video.mux?.thumbnailUrl);
        killedAt = Date.now();
        first.child.kill(signal);
        const exit = await first.exited;
        if (signal === 'SIGTERM') expect(exit.code, 'a SIGTERM stops npm start cleanly').toBe(0);
        const second = await startStack(stateDir, port);
        upAt = Date.now();
        running.push(second);
        return second;
      };

      const results = await mapWithLimit(titles(`restart-${signal}`, uploadsInBurst), clientConcurrency, async (title) => {
        // While the stack is down (or starting again), a client waits for it, as a user reloading the page would.
        if (restarted !== null) await restarted;
        const result = await uploadOnce(first.api, token, title);
        if (result.succeeded) {
          successes += 1;
          if (successes === killAfterSuccesses && restarted === null) restarted = kill();
        }
        return result;
      });
      const second = await (restarted as Promise<StartedProcess> | null);
      expect(second, 'the kill happened mid-burst').not.toBeNull();
      if (second === null || killedAt === null) return;

      const succeeded = results.filter((result) => result.succeeded);
      const finals = new Map<string, VideoJson>();
      const deadline = Date.now() + readyWithinMs;
      for (;;) {
        for (const result of succeeded) {
          if (finals.get(result.title)?.status === 'ready') continue;
          const got = await getJson<{ video: VideoJson }>(`${second.api}/api/videos/${result.id}`, token);
          if (got.status === 200 && got.body) finals.set(result.title, got.body.video);
        }
        const settled = succeeded.every((result) => {
          const video = finals.get(result.title);
          return video?.status === 'ready' && video.mux?.status === 'ready' && video.mux.playbackId !== null;
        });
        if (settled || Date.now() > deadline) break;
        await sleep(250);
      }
      const lastReadyAt = Date.now();
      const statuses: Record<string, number> = {};
      for (const result of succeeded) {
        const status = finals.get(result.title)?.status ?? 'unread';
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
      expect.soft(statuses, 'the statuses of the uploads a client saw succeed').toEqual({ ready: succeeded.length });

      const assets = emulatorAssets(stateDir).filter((asset) => !asset.deleted);
      const assetsOf = (id: string) => assets.filter((asset) => asset.passthrough?.startsWith(id));
      let lost = 0;
      let extraAssets = 0;
      for (const result of succeeded) {
        const video = finals.get(result.title);
        const own = assetsOf(result.id as string);
        if (video?.status !== 'ready' || own.length === 0 || video.mux?.assetId !== own[0]?.id) lost += 1;
        extraAssets += Math.max(0, own.length - 1);
        expect.soft(video?.status, `${result.title}: ${JSON.stringify(video)}`).toBe('ready');
        expect.soft(unsettled.has(video?.status ?? ''), `${result.title} left ${video?.status}`).toBe(false);
        expect.soft(own.map((asset) => asset.id), `${result.title}: Mux assets`).toHaveLength(1);
      }
      let thumbnailsMissing = 0;
      for (const video of readyBeforeKill) {
        const thumbnail = await fetch(video.mux?.thumbnailUrl as string);
        await thumbnail.arrayBuffer();
        if (thumbnail.status !== 200) thumbnailsMissing += 1;
      }
      expect(thumbnailsMissing, 'thumbnails of videos ready before the kill, after it').toBe(0);

      const events = (event: string) => second.lines.filter((line) => line.includes(`"event":"${event}"`)).map((line) => JSON.parse(line) as Record<string, unknown>);
      const logged = (event: string) => events(event).length;
      recordFigures(context, {
        scenario,
        case: `${signal} after ${killAfterSuccesses} of ${uploadsInBurst} uploads, restarted on the same state`,
        injected: { [signal.toLowerCase()]: 1 },
        observed: {
          clientFailures: results.length - succeeded.length,
          restoredMessages: events('local_sqs.restored').reduce((total, line) => total + Number(line.messages ?? 0), 0),
          claimedElsewhere: logged('ingest.claimed_elsewhere'),
          resumedAssets: logged('mux_emulator.asset.resumed'),
          strandedSwept: logged('reconcile.stranded_upload'),
          restartMs: upAt - killedAt,
          lastReadyAfterRestartMs: lastReadyAt - upAt,
        },
        checked: succeeded.length,
        lost,
        extraAssets,
      });
      expect(lost, 'uploads a client saw succeed that are not ready with their asset').toBe(0);
      expect(extraAssets, 'second Mux assets').toBe(0);
    });
  }
});
