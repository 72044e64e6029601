import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseArguments, runMigrateCli } from '../../shared/migrations/cli.js';
import { latestVersion, migrations } from '../../shared/migrations/index.js';
import { backends, openTestDatabase } from '../support/databases.js';
import { startDataApi } from '../support/data-api.js';

interface CliRun {
  readonly exitCode: number;
  readonly output: Record<string, unknown>;
  readonly logs: Array<Record<string, unknown>>;
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runMigrateCli(args, { env, stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  const logs = stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { exitCode, output: JSON.parse(stdout) as Record<string, unknown>, logs };
}

/** Every migration after 0001, as the plan and the result list them. */
const laterVersions = migrations.slice(1).map((migration) => ({ version: migration.version }));

/** status → up --to 1 → plan → up → status, checking each step's JSON. */
async function walkThroughCommands(env: NodeJS.ProcessEnv, expectedDriver: string): Promise<void> {
  const fresh = await cli(['status'], env);
  expect(fresh).toMatchObject({ exitCode: 0, output: { driver: expectedDriver, command: 'status', result: { currentVersion: 0, latestVersion } } });

  const first = await cli(['up', '--to', '1'], env);
  expect(first.exitCode).toBe(0);
  expect(first.output).toMatchObject({ command: 'up', result: { applied: [{ version: 1, name: 'basic_videos' }], currentVersion: 1 } });
  expect(first.logs.some((line) => line.event === 'migrate.step.ok')).toBe(true);

  const plan = await cli(['plan'], env);
  expect(plan.output).toMatchObject({ result: { currentVersion: 1, targetVersion: latestVersion, migrations: laterVersions } });

  const rest = await cli(['up'], env);
  expect(rest.output).toMatchObject({ result: { applied: laterVersions, currentVersion: latestVersion } });
  expect((await cli(['status'], env)).output).toMatchObject({ result: { currentVersion: latestVersion, pending: [], drift: [] } });
}

describe('migrate CLI arguments', () => {
  it('accepts status, plan and up, with --to N or --to=N for plan and up', () => {
    expect(parseArguments(['status'])).toEqual({ name: 'status' });
    expect(parseArguments(['up'])).toEqual({ name: 'up' });
    expect(parseArguments(['up', '--to', '2'])).toEqual({ name: 'up', to: 2 });
    expect(parseArguments(['plan', '--to=3'])).toEqual({ name: 'plan', to: 3 });
  });

  it.each([[[]], [['down']], [['status', '--to', '1']], [['up', '--to']], [['up', '--to', 'two']], [['up', '--force']]])(
    'rejects %j',
    (args) => {
      expect(() => parseArguments(args)).toThrow(/usage: npm run migrate/);
    },
  );

  it('exits 2 on bad usage without touching a database', async () => {
    let stderr = '';
    const code = await runMigrateCli(['down'], { env: {}, stdout: () => {}, stderr: (text) => (stderr += text) });
    expect(code).toBe(2);
    expect(stderr).toContain('usage:');
  });
});

describe('migrate CLI against each kind of database', () => {
  it('drives PGlite in PGLITE_DATA_DIR', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-migrate-'));
    try {
      await walkThroughCommands({ PGLITE_DATA_DIR: dir }, 'pglite');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!backends.includes('postgres'))('drives PostgreSQL at DATABASE_URL', async () => {
    const db = await openTestDatabase('postgres');
    try {
      if (db.connection.kind !== 'postgres') throw new Error('expected postgres');
      await walkThroughCommands({ DATABASE_URL: db.connection.url }, 'pg');
    } finally {
      await db.dispose();
    }
  });

  it.each(backends)('drives a Data API endpoint named by RDS_RESOURCE_ARN, RDS_SECRET_ARN and DATA_API_ENDPOINT (on %s)', async (backend) => {
    const db = await openTestDatabase(backend);
    const api = await startDataApi(db);
    try {
      await walkThroughCommands(
        { RDS_RESOURCE_ARN: api.resourceArn, RDS_SECRET_ARN: api.secretArn, RDS_DATABASE: api.database, DATA_API_ENDPOINT: api.endpoint },
        'data-api',
      );
      expect(api.server.stats.statements.filter((sql) => sql.startsWith('CREATE INDEX CONCURRENTLY'))).toHaveLength(5);
    } finally {
      await api.close();
      await db.dispose();
    }
  });

  it('exits 1 with a JSON error when the database cannot be reached', async () => {
    const run = await cli(['status'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' });
    expect(run.exitCode).toBe(1);
    expect(run.output).toMatchObject({ driver: 'pg', command: 'status', error: { code: expect.any(String), message: expect.any(String) } });
    expect(run.logs.some((line) => line.event === 'migrate.cli.failed')).toBe(true);
  });

  it('prints only JSON log lines on stderr through the Data API: no AWS SDK Node-version warning, as npm start', async () => {
    const db = await openTestDatabase('pglite');
    const api = await startDataApi(db);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, RDS_RESOURCE_ARN: api.resourceArn, RDS_SECRET_ARN: api.secretArn, RDS_DATABASE: api.database, DATA_API_ENDPOINT: api.endpoint };
    try {
      const { stdout, stderr } = await promisify(execFile)('npx', ['tsx', 'shared/migrations/cli.ts', 'status'], { env });
      expect(JSON.parse(stdout)).toMatchObject({ driver: 'data-api', command: 'status' });
      expect(stderr).not.toMatch(/NodeVersionSupportWarning|Warning:/);
      for (const line of stderr.split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
    } finally {
      await api.close();
      await db.dispose();
    }
  }, 60_000);

  it('runs as `npm run migrate` does: a process that prints JSON and sets its exit code', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-migrate-'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, PGLITE_DATA_DIR: dir };
    try {
      const { stdout } = await promisify(execFile)('npx', ['tsx', 'shared/migrations/cli.ts', 'up', '--to', '2'], { env });
      expect(JSON.parse(stdout)).toMatchObject({ driver: 'pglite', result: { currentVersion: 2 } });
      const failed = await promisify(execFile)('npx', ['tsx', 'shared/migrations/cli.ts', 'sideways'], { env }).catch((error: unknown) => error);
      expect(failed).toMatchObject({ code: 2 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
