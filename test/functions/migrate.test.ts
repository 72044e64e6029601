/**
 * The migrate Lambda, invoked directly: `{ action: status | plan | up, to? }`, and the deploy-time trigger's empty
 * event, which means "up". Through the local Data API, as in AWS.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler, parseMigratePayload, type MigrateHandler } from '../../functions/migrate/handler.js';
import { lambdaContext } from '../../local/api-gateway/event.js';
import { MigrationError, ValidationError } from '../../shared/errors.js';
import { memoryLogger, type LogFields } from '../../shared/log.js';
import { backends, type TestDatabase } from '../support/databases.js';
import type { StartedDataApi } from '../support/data-api.js';
import { bundledPackages, dataApiEnv, useDataApiDatabase, type Json } from './admin-support.js';

const fastEngine = { lease: { ttlMs: 10_000, waitMs: 60_000 }, indexPoll: { intervalMs: 20 } };

describe('migrate payloads', () => {
  it.each([
    [{ action: 'status' }, { action: 'status', source: 'invoke' }],
    [{ action: 'plan', to: 2 }, { action: 'plan', to: 2, source: 'invoke' }],
    [{ action: 'up' }, { action: 'up', source: 'invoke' }],
    [{}, { action: 'up', source: 'deploy-trigger' }],
    [null, { action: 'up', source: 'deploy-trigger' }],
    [undefined, { action: 'up', source: 'deploy-trigger' }],
  ])('%j → %j', (event, expected) => {
    expect(parseMigratePayload(event)).toEqual(expected);
  });

  it.each([
    ['an unknown action', { action: 'drop' }],
    ['a version without an action', { to: 2 }],
    ['`to` on status', { action: 'status', to: 2 }],
    ['a negative version', { action: 'up', to: -1 }],
    ['a fractional version', { action: 'up', to: 1.5 }],
    ['a version as text', { action: 'up', to: '2' }],
    ['an unknown key', { action: 'up', force: true }],
    ['a bare string', 'up'],
    ['an array', [{ action: 'up' }]],
  ])('refuses %s with a ValidationError', (_what, event) => {
    expect(() => parseMigratePayload(event)).toThrow(ValidationError);
  });
});

describe.each(backends)('migrate function on %s', (backend) => {
  const local = useDataApiDatabase(backend);
  let db: TestDatabase;
  let api: StartedDataApi;
  let logger: ReturnType<typeof memoryLogger>;
  let handler: MigrateHandler;
  const events = (name: string): LogFields[] => logger.lines.filter((line) => line.event === name);
  beforeEach(async () => {
    ({ db, api } = local);
    logger = memoryLogger();
    handler = await createHandler(dataApiEnv(api), { logger, migrator: fastEngine });
  });

  it('status on an empty database: nothing applied, everything pending', async () => {
    const result: Json = await handler({ action: 'status' }, lambdaContext('migrate'));
    expect(result).toMatchObject({ action: 'status', source: 'invoke', driver: 'data-api', result: { currentVersion: 0, latestVersion: 3 } });
    expect(result.result.pending.map((m: { version: number }) => m.version)).toEqual([1, 2, 3]);
  });

  it('plan --to 2 lists migrations 1 and 2 with their statements and runs nothing', async () => {
    const result: Json = await handler({ action: 'plan', to: 2 }, lambdaContext('migrate'));
    expect(result.result).toMatchObject({ currentVersion: 0, targetVersion: 2 });
    expect(result.result.migrations.map((m: { version: number }) => m.version)).toEqual([1, 2]);
    expect(result.result.migrations[0].steps[0].statements.join('\n')).toMatch(/CREATE TABLE IF NOT EXISTS videos/);
    expect(((await handler({ action: 'status' })) as Json).result.currentVersion).toBe(0);
  });

  it('up --to 1, then up: applies in order, logs each step as JSON', async () => {
    const first: Json = await handler({ action: 'up', to: 1 }, lambdaContext('migrate'));
    expect(first.result.applied.map((m: { version: number }) => m.version)).toEqual([1]);
    const second: Json = await handler({ action: 'up' }, lambdaContext('migrate'));
    expect(second.result).toMatchObject({ currentVersion: 3 });
    expect(second.result.applied.map((m: { version: number }) => m.version)).toEqual([2, 3]);
    expect(events('migrate.invoke.start').map((line) => line.action)).toEqual(['up', 'up']);
    expect(events('migrate.migration.ok').map((line) => line.version)).toEqual([1, 2, 3]);
    expect(events('migrate.step.ok').length).toBeGreaterThanOrEqual(3);
    expect(events('migrate.invoke.ok')).toHaveLength(2);
  });

  it('the deploy-time trigger (an empty event) applies every pending migration', async () => {
    const result: Json = await handler({}, lambdaContext('migrate'));
    expect(result).toMatchObject({ action: 'up', source: 'deploy-trigger', result: { currentVersion: 3 } });
    expect(((await handler({})) as Json).result.applied).toEqual([]);
  });

  it('an invalid payload throws a ValidationError and touches nothing', async () => {
    api.server.stats.reset();
    await expect(handler({ action: 'down' }, lambdaContext('migrate'))).rejects.toThrow(ValidationError);
    expect(api.server.stats.total()).toBe(0);
    expect(events('migrate.invoke.invalid_payload')).toHaveLength(1);
  });

  it('a failing migration throws (so Lambda, and the deploy, report it)', async () => {
    await handler({ action: 'up', to: 1 });
    await db.driver.execute(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`);
    await expect(handler({}, lambdaContext('migrate'))).rejects.toThrow(MigrationError);
    expect(events('migrate.invoke.failed')).toHaveLength(1);
  });
});

describe('migrate function bundle', () => {
  it('carries neither the Mux SDK, the S3 client, nor middy', async () => {
    const packages = await bundledPackages('functions/migrate/handler.ts');
    expect(packages.has('@aws-sdk/client-rds-data')).toBe(true);
    for (const name of ['@mux/mux-node', '@aws-sdk/client-s3', '@middy/core']) expect(packages.has(name), name).toBe(false);
  });
});
