/**
 * `npm run verify` (local/verify/) in-process against the local stack: it passes on a healthy deployment, applies
 * migrations on the legacy schema and sees the fallback before and not after, and fails — with a line that says why —
 * when the API is down or a token is wrong.
 */
import { randomUUID } from 'node:crypto';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastStartMp4 } from '../../local/mux-emulator/media.js';
import { apiClient } from '../../local/verify/api.js';
import { parseVerifyArguments, UsageError } from '../../local/verify/args.js';
import { deleteVideo } from '../../local/verify/checks.js';
import { Report, type CheckResult } from '../../local/verify/report.js';
import { runVerify, type VerifyOutcome } from '../../local/verify/verify.js';
import { backends } from '../support/databases.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';

interface Run extends VerifyOutcome {
  readonly lines: string[];
}

async function verify(args: string[]): Promise<Run> {
  const lines: string[] = [];
  const outcome = await runVerify(parseVerifyArguments(args), (line) => lines.push(line));
  return { ...outcome, lines };
}

function result(run: Run, name: string): CheckResult {
  const found = run.results.find((check) => check.name === name);
  expect(found, `no check "${name}" in:\n${run.lines.join('\n')}`).toBeDefined();
  return found as CheckResult;
}

/** Every check passed, except the clean-up, which is skipped while the deployment has no DELETE /api/videos/{id}. */
function expectPassed(run: Run): void {
  const shown = run.lines.join('\n');
  expect(run.ok, shown).toBe(true);
  for (const check of run.results) {
    if (check.name === 'delete video' && check.outcome === 'skipped') {
      expect(check.detail, shown).toMatch(/^skipped: this deployment has no DELETE route; delete video [0-9a-f-]{36} by hand$/);
    } else {
      expect(check.outcome, `${check.name}: ${check.detail}`).toBe('passed');
    }
  }
  expect(run.lines.at(-1), shown).toMatch(/^verify OK: \d+ passed, 0 failed, \d+ skipped in [\d.]+ s against http:\/\/127\.0\.0\.1:\d+$/);
}

/** A port nothing listens on: one the OS just handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const uploadChecks = ['create upload', 'upload to S3', 'ready', 'video list'];

describe('npm run verify: the command line', () => {
  it('parses the flags once into a typed config', () => {
    expect(parseVerifyArguments(['--api', 'http://127.0.0.1:3100/', '--token', 't', '--admin-token', 'a', '--apply-migrations', '--timeout', '2.5'])).toEqual({
      api: 'http://127.0.0.1:3100',
      token: 't',
      adminToken: 'a',
      applyMigrations: true,
      timeoutMs: 2_500,
      clipPath: null,
    });
    expect(parseVerifyArguments(['--api', 'https://abc.execute-api.eu-west-1.amazonaws.com'])).toMatchObject({ token: null, adminToken: null, timeoutMs: 120_000 });
  });

  it('refuses what it cannot use', () => {
    expect(() => parseVerifyArguments([])).toThrow(new UsageError('--api is required'));
    expect(() => parseVerifyArguments(['--api', 'ftp://x'])).toThrow(/--api must be an http\(s\) URL/);
    expect(() => parseVerifyArguments(['--api', 'http://x', '--timeout', 'soon'])).toThrow(/--timeout must be a number of seconds/);
    expect(() => parseVerifyArguments(['--api', 'http://x', '--apply-migrations'])).toThrow(/--apply-migrations needs --admin-token/);
    expect(() => parseVerifyArguments(['--api', 'http://x', '--frobnicate'])).toThrow(UsageError);
  });
});

describe('npm run verify when the API is down', () => {
  it('fails with one clear line and runs nothing else', async () => {
    const port = await closedPort();
    const run = await verify(['--api', `http://127.0.0.1:${port}`, '--token', 'x', '--admin-token', 'y']);
    expect(run.ok).toBe(false);
    expect(run.results).toHaveLength(1);
    expect(run.lines[0]).toMatch(new RegExp(`^✗ api +\\d+ ms  API unreachable at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    expect(run.lines[1]).toMatch(/^verify FAILED: 0 passed, 1 failed, 0 skipped/);
  });
});

describe('npm run verify: the clean-up', () => {
  /** A server that answers every DELETE with the given status and body, as a deployment would. */
  async function deleteAnswer(status: number, body: string): Promise<CheckResult> {
    const server = createHttpServer((_request, response) => {
      response.writeHead(status, body === '' ? {} : { 'content-type': 'application/json' });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const report = new Report(() => {});
      await report.check('delete video', () => deleteVideo(apiClient(`http://127.0.0.1:${port}`, 5_000), 'token', '00000000-0000-4000-8000-000000000001'));
      return report.results[0] as CheckResult;
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  it('counts 204 and 202 as deleted', async () => {
    expect(await deleteAnswer(204, '')).toMatchObject({ outcome: 'passed', detail: 'video 00000000-0000-4000-8000-000000000001: 204' });
    expect((await deleteAnswer(202, '{}')).outcome).toBe('passed');
  });

  it("skips on API Gateway's route-not-found, naming the video to delete by hand", async () => {
    for (const status of [404, 405]) {
      expect(await deleteAnswer(status, '{"message":"Not Found"}')).toMatchObject({
        outcome: 'skipped',
        detail: 'skipped: this deployment has no DELETE route; delete video 00000000-0000-4000-8000-000000000001 by hand',
      });
    }
  });

  it("fails on any other answer, reelay's own 404 included", async () => {
    expect(await deleteAnswer(404, '{"error":{"code":"not_found","message":"Video not found"}}')).toMatchObject({ outcome: 'failed' });
    expect((await deleteAnswer(500, '{"message":"Internal Server Error"}')).outcome).toBe('failed');
    expect((await deleteAnswer(200, '{}')).detail).toMatch(/^DELETE \/api\/videos\/00000000-0000-4000-8000-000000000001 answered 200 /);
  });
});

describe.each(backends)('npm run verify against the local stack on %s', (backend) => {
  describe('the current schema', () => {
    let stack: TestStack;
    let user: string;
    let admin: string;

    beforeAll(async () => {
      stack = await startTestStack({ backend });
      [user, admin] = await Promise.all([stack.tokens.mint(`verify-${randomUUID()}`), stack.tokens.mint(`ops-${randomUUID()}`, { admin: true })]);
    });
    afterAll(() => stack?.dispose());

    it('passes every check, uploading a video that becomes ready and shows in the list', async () => {
      const run = await verify(['--api', stack.url, '--token', user, '--admin-token', admin, '--timeout', '30']);
      expectPassed(run);
      expect(run.results.map((check) => check.name)).toEqual(['api', 'database', 'migration status', 'create upload', 'fallback', 'upload to S3', 'ready', 'video list', 'delete video']);
      expect(result(run, 'fallback').detail).toBe('usedFallback: false, all Mux columns present');
      expect(result(run, 'migration status').detail).toMatch(/^version (\d+) of \1, nothing pending$/);
      // The checks saw what the stack holds: the video reached ready in the database and in the Mux emulator.
      const id = /video ([0-9a-f-]{36})/.exec(result(run, 'create upload').detail)?.[1] ?? '';
      expect(result(run, 'video list').detail).toContain(id);
      const [asset] = [...stack.muxEmulator.assets.values()].filter((candidate) => candidate.json.passthrough?.startsWith(`${id}.`));
      expect(result(run, 'ready').detail).toContain(asset?.json.playback_ids?.[0]?.id ?? 'no playback id');
      // And it cleaned up: the video, its asset and its object are gone.
      expect(result(run, 'delete video').outcome).toBe('passed');
      expect((await stack.request('GET', `/api/videos/${id}`, { token: user })).status).toBe(404);
      expect(asset?.deleted).toBe(true);
    });

    it('uploads the --clip it is given', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'reelay-verify-'));
      try {
        const clip = join(dir, 'short.mov');
        await writeFile(clip, fastStartMp4(3_000, 1280, 720, 20_000));
        const run = await verify(['--api', stack.url, '--token', user, '--clip', clip, '--timeout', '30']);
        expect(run.ok, run.lines.join('\n')).toBe(true);
        expect(result(run, 'upload to S3').detail).toMatch(/^20000 bytes to 127\.0\.0\.1:\d+$/);
        const id = /video ([0-9a-f-]{36})/.exec(result(run, 'create upload').detail)?.[1] ?? '';
        // The clip's name gave the source key its extension (the video itself was deleted by the clean-up).
        const stored = stack.objectCreated.find((record) => decodeURIComponent(record.s3.object.key).startsWith(`uploads/${id}/`));
        expect(stored?.s3.object).toMatchObject({ key: `uploads/${id}/source.mov`, size: 20_000 });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('skips the admin checks without an admin token, and the upload without a user token', async () => {
      const run = await verify(['--api', stack.url, '--token', user]);
      expect(run.ok, run.lines.join('\n')).toBe(true);
      expect(result(run, 'database')).toMatchObject({ outcome: 'skipped', detail: 'skipped: no --admin-token' });
      expect(result(run, 'ready').outcome).toBe('passed');
      const none = await verify(['--api', stack.url]);
      expect(none.ok).toBe(true);
      for (const name of uploadChecks) expect(result(none, name)).toMatchObject({ outcome: 'skipped', detail: 'skipped: no --token' });
    });

    it('fails the checks a wrong token reaches, saying what the API answered', async () => {
      const run = await verify(['--api', stack.url, '--token', `${user}x`, '--admin-token', user]);
      expect(run.ok).toBe(false);
      expect(result(run, 'api').outcome).toBe('passed');
      expect(result(run, 'create upload')).toMatchObject({ outcome: 'failed', detail: 'POST /api/videos/upload answered 401 Unauthorized' });
      expect(result(run, 'database')).toMatchObject({ outcome: 'failed' });
      expect(result(run, 'database').detail).toMatch(/^GET \/api\/database\/health\/details answered 403 forbidden: /);
      for (const name of ['upload to S3', 'ready', 'video list']) expect(result(run, name)).toMatchObject({ outcome: 'skipped', detail: 'skipped: the create failed' });
      expect(run.lines.at(-1)).toMatch(/^verify FAILED: 1 passed, 3 failed, 4 skipped/);
    });

    it('fails the ready check when the video does not become ready in time', async () => {
      // Mux refuses every asset create: the ingest retries, so the video never gets past processing.
      stack.muxEmulator.faults.failNextCreates(1_000, 500);
      try {
        const run = await verify(['--api', stack.url, '--token', user, '--timeout', '2']);
        expect(run.ok).toBe(false);
        expect(result(run, 'upload to S3').outcome).toBe('passed');
        expect(result(run, 'ready')).toMatchObject({ outcome: 'failed' });
        expect(result(run, 'ready').detail).toMatch(/^video [0-9a-f-]{36} is still \w+ \(Mux \w+\) after [\d.]+ s \(--timeout 2\)$/);
        expect(result(run, 'video list').outcome).toBe('passed');
      } finally {
        stack.muxEmulator.faults.reset();
      }
    });
  });

  describe('the legacy schema', () => {
    let stack: TestStack;
    let user: string;
    let admin: string;

    beforeAll(async () => {
      stack = await startTestStack({ backend, schema: 'legacy' });
      [user, admin] = await Promise.all([stack.tokens.mint(`verify-${randomUUID()}`), stack.tokens.mint(`ops-${randomUUID()}`, { admin: true })]);
    });
    afterAll(() => stack?.dispose());

    it('fails without --apply-migrations: migrations pending, uploads written with the fallback', async () => {
      const run = await verify(['--api', stack.url, '--token', user, '--admin-token', admin, '--timeout', '30']);
      expect(run.ok).toBe(false);
      expect(result(run, 'migration status')).toMatchObject({ outcome: 'failed' });
      expect(result(run, 'migration status').detail).toMatch(/^version 1 of \d+, pending 2, .*: run again with --apply-migrations/);
      // The legacy schema is declared (the Mux columns are missing), so the fallback is what it should be.
      expect(result(run, 'fallback').outcome).toBe('passed');
      expect(result(run, 'fallback').detail).toMatch(/^usedFallback: true, \d+ Mux columns missing \(mux_asset_id, .*\(the legacy schema\)$/);
      expect(result(run, 'ready').outcome).toBe('passed');
    });

    it('passes with --apply-migrations: the fallback before the migration, not after it', async () => {
      const run = await verify(['--api', stack.url, '--token', user, '--admin-token', admin, '--apply-migrations', '--timeout', '30']);
      expectPassed(run);
      expect(run.results.map((check) => check.name).filter((name) => name !== 'delete video')).toEqual([
        'api', 'database', 'migration status', 'create before migration', 'fallback before migration', 'migration run',
        'create upload', 'fallback after migration', 'upload to S3', 'ready', 'video list',
      ]);
      expect(result(run, 'fallback before migration').detail).toMatch(/^usedFallback: true, /);
      expect(result(run, 'migration run').detail).toMatch(/^ran 2, .* in \d+ ms, now version \d+$/);
      expect(result(run, 'fallback after migration').detail).toMatch(/^usedFallback: false, all Mux columns present/);
      expect(result(run, 'ready').detail).toMatch(/^ready after [\d.]+ s, playback id \w+$/);
      // Every video it created gets a clean-up line.
      expect(run.results.filter((check) => check.name === 'delete video').length).toBeGreaterThanOrEqual(2);

      // Migrated now: a second run finds nothing pending and no fallback.
      expectPassed(await verify(['--api', stack.url, '--token', user, '--admin-token', admin, '--apply-migrations', '--timeout', '30']));
    });
  });
});
