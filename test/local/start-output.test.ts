/**
 * `npm start` without a terminal (CI, a service manager, a pipe): its output reads as a start — one line per
 * migration, no SQL, no hint to type at a keyboard nobody reads — and CORS_ORIGINS from the environment reaches the API.
 * The process is local/start.ts as `npm start` runs it, stdout piped, its state in a temporary REELAY_LOCAL_DIR (the
 * developer's `.local/` is never touched).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../local/stack.js';

const appOrigin = 'http://app.example.test:5173';

describe('npm start with stdout piped', () => {
  let child: ChildProcess;
  let output = '';
  let api = '';
  let stateDir = '';

  beforeAll(async () => {
    const { CORS_ORIGINS: _cors, LOG_LEVEL: _level, DATABASE_URL: _url, MUX_TOKEN_ID: _id, MUX_TOKEN_SECRET: _secret, ...environment } = process.env;
    stateDir = await mkdtemp(join(tmpdir(), 'reelay-start-'));
    child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', '--port', '0', '--reconcile-every', '0'], {
      cwd: repositoryRoot,
      env: { ...environment, CORS_ORIGINS: appOrigin, REELAY_LOCAL_DIR: stateDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${output}`)), 90_000);
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ctrl-C stops everything.')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });
    api = /^ {2}API +(\S+)$/m.exec(output)?.[1] ?? '';
  }, 120_000);

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(stateDir, { recursive: true, force: true });
  });

  it('logs each migration in one line, without its SQL', () => {
    const lines = output.split('\n').filter((line) => line.startsWith('{'));
    const events = lines.map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toContain('migrate.migration.ok');
    expect(events).not.toContain('migrate.step.start');
    expect(output).not.toMatch(/CREATE TABLE|"sql"/);
  });

  it('prints the summary without a keyboard hint, and names the extra CORS origin', () => {
    expect(output).toContain('reelay local stack is up');
    expect(output).not.toMatch(/type r|\+ Enter/);
    expect(output).toMatch(new RegExp(`^ {2}CORS .*${appOrigin.replaceAll('.', '\\.')}`, 'm'));
  });

  it('allows the origin CORS_ORIGINS names, and no other', async () => {
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const preflight = (origin: string) =>
      fetch(`${api}/api/videos/upload`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
      });
    const allowed = await preflight(appOrigin);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(appOrigin);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });
});
