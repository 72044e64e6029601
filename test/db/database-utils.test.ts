/** The seed's utilities, under the seed's names, from one module — on PGlite, PostgreSQL and the Data API. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as databaseUtils from '../../shared/db/database-utils.js';
import {
  applyMuxMigration,
  checkDatabaseConnection,
  checkDatabaseHealth,
  checkMuxColumnsExist,
  getDatabaseStatus,
} from '../../shared/db/database-utils.js';
import { muxColumnNames } from '../../shared/db/schema.js';
import { latestVersion, migrations } from '../../shared/migrations/index.js';
import { silentLogger } from '../../shared/log.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import type { StartedDataApi } from '../support/data-api.js';
import { migrateTo, useDataApiDatabase } from '../functions/admin-support.js';

const allMuxColumns = [...muxColumnNames];
const allVersions = migrations.map((migration) => migration.version);
const pendingAfter = (version: number) => migrations.filter((m) => m.version > version).map((m) => ({ version: m.version, name: m.name }));

describe('database-utils exports', () => {
  it('exports the seed utilities by their seed names from one module', () => {
    for (const name of ['checkMuxColumnsExist', 'applyMuxMigration', 'checkDatabaseConnection', 'getDatabaseStatus']) {
      expect(typeof (databaseUtils as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});

describe.each(backends)('database-utils on %s', (backend) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await openTestDatabase(backend);
  });
  afterEach(async () => {
    await db.dispose();
  });

  it('checkDatabaseConnection reports a reachable database with its latency', async () => {
    const started = performance.now();
    const connection = await checkDatabaseConnection(db.driver);
    const elapsedMs = performance.now() - started;
    expect(connection).toMatchObject({ connected: true, state: 'ok' });
    // Whole milliseconds, measured inside the call: at most what the caller saw.
    expect(Number.isInteger(connection.latencyMs)).toBe(true);
    expect(connection.latencyMs).toBeGreaterThanOrEqual(0);
    expect(connection.latencyMs).toBeLessThanOrEqual(Math.ceil(elapsedMs));
    expect(connection.error).toBeUndefined();
  });

  it('checkMuxColumnsExist lists every missing Mux column at 0001 and none after 0002', async () => {
    await migrateTo(db, 1);
    expect(await checkMuxColumnsExist(db.driver)).toEqual({ exist: false, missing: allMuxColumns });
    await migrateTo(db, 2);
    expect(await checkMuxColumnsExist(db.driver)).toEqual({ exist: true, missing: [] });
  });

  it('checkDatabaseHealth on an empty database: connected, version 0, everything pending, no ledger needed', async () => {
    const health = await checkDatabaseHealth(db.driver);
    expect(health.status).toBe('degraded');
    expect(health.schema).toMatchObject({ version: 0, pending: allVersions, muxColumns: { present: [], missing: allMuxColumns } });
  });

  it('checkDatabaseHealth is degraded at 0001 and ok at the latest version', async () => {
    await migrateTo(db, 1);
    expect(await checkDatabaseHealth(db.driver)).toMatchObject({ status: 'degraded', schema: { version: 1, pending: allVersions.slice(1) } });
    await migrateTo(db, latestVersion);
    const health = await checkDatabaseHealth(db.driver);
    expect(health).toMatchObject({ status: 'ok', connection: { connected: true, state: 'ok' } });
    expect(health.schema).toMatchObject({ version: latestVersion, latestVersion, pending: [], muxColumns: { present: allMuxColumns, missing: [] } });
    expect(health.schema?.serverVersion).toMatch(/^\d+(\.\d+)?/);
  });

  it('getDatabaseStatus combines connectivity, engine version, the engine status and the Mux columns', async () => {
    await migrateTo(db, 1);
    const status = await getDatabaseStatus(db.driver);
    expect(status.driver).toBe(db.driver.name);
    expect(status.connection.connected).toBe(true);
    expect(status.serverVersion).toMatch(/^\d+/);
    expect(status.schema).toMatchObject({
      currentVersion: 1,
      latestVersion,
      pending: pendingAfter(1),
      drift: [],
      invalidIndexes: [],
      muxColumns: { present: [], missing: allMuxColumns },
    });
    expect(status.schema?.applied.map((m) => m.version)).toEqual([1]);
  });

  it('getDatabaseStatus reports drift when an applied migration was edited', async () => {
    await migrateTo(db, 2);
    await db.driver.execute(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2`);
    const status = await getDatabaseStatus(db.driver);
    expect(status.schema?.drift).toEqual([expect.objectContaining({ version: 2, appliedChecksum: 'edited' })]);
  });

  it('applyMuxMigration runs the engine: what ran, how long, and the Mux columns afterwards', async () => {
    await migrateTo(db, 1);
    const started = performance.now();
    const result = await applyMuxMigration(db.driver, { logger: silentLogger, to: 2 });
    const elapsedMs = performance.now() - started;
    expect(result.ran.map((m) => [m.version, m.name])).toEqual([[2, 'mux_columns']]);
    expect(result.currentVersion).toBe(2);
    // Whole milliseconds spanning the migration: at least its one step's, at most what the caller saw.
    expect(Number.isInteger(result.durationMs)).toBe(true);
    expect(result.durationMs).toBeGreaterThanOrEqual(result.ran[0]?.durationMs ?? Number.NaN);
    expect(result.durationMs).toBeLessThanOrEqual(Math.ceil(elapsedMs));
    expect(result.muxColumns).toEqual({ exist: true, missing: [] });
    const again = await applyMuxMigration(db.driver, { logger: silentLogger });
    expect(again.ran.map((m) => m.version)).toEqual(allVersions.slice(2));
    expect((await applyMuxMigration(db.driver, { logger: silentLogger })).ran).toEqual([]);
  });
});

describe.each(backends)('database-utils through the Data API on %s', (backend) => {
  // No retries: a fault is the answer at once.
  const local = useDataApiDatabase(backend, { retry: { maxElapsedMs: 0, sleep: () => Promise.resolve() } });
  let db: TestDatabase;
  let api: StartedDataApi;
  beforeEach(() => {
    ({ db, api } = local);
  });

  it('checkDatabaseHealth costs one Data API call on a migrated database', async () => {
    await migrateTo(db, latestVersion);
    api.server.stats.reset();
    expect((await checkDatabaseHealth(api.driver)).status).toBe('ok');
    expect(api.server.stats.total()).toBe(1);
  });

  it('a resuming Serverless v2 cluster reads as state "resuming", not as an exception', async () => {
    api.server.faults.failNext('resuming', 5);
    const connection = await checkDatabaseConnection(api.driver);
    expect(connection).toMatchObject({ connected: false, state: 'resuming', error: { code: 'database_unavailable', reason: 'resuming' } });
    const health = await checkDatabaseHealth(api.driver);
    expect(health).toMatchObject({ status: 'resuming', schema: null });
  });

  it('getDatabaseStatus costs three calls and reports an unreachable database without throwing', async () => {
    await migrateTo(db, latestVersion);
    api.server.stats.reset();
    expect((await getDatabaseStatus(api.driver)).schema?.currentVersion).toBe(latestVersion);
    expect(api.server.stats.total()).toBe(3);
    api.server.faults.failNext('unavailable', 5);
    const down = await getDatabaseStatus(api.driver);
    expect(down).toMatchObject({ connection: { connected: false, state: 'down' }, schema: null, serverVersion: null });
  });
});
