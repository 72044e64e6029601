import { describe, expect, it } from 'vitest';
import { MigrationError } from '../../shared/errors.js';
import type { LogFields } from '../../shared/log.js';
import { latestVersion, migrations } from '../../shared/migrations/index.js';
import { backends, openTestDatabase } from '../support/databases.js';
import { emptyPublicSchema, eventsNamed, interceptingDriver, killableDriver, ledger, RunnerKilled, secondDriver, testMigrator } from './support.js';

const allVersions = migrations.map((m) => m.version);
const totalSteps = migrations.reduce((sum, m) => sum + m.steps.length, 0);

/** `version:step` for every step that completed, across all runners' logs. */
function completedSteps(...logs: LogFields[][]): string[] {
  return logs.flatMap((lines) => eventsNamed(lines, 'migrate.step.ok').map((line) => `${String(line.version)}:${String(line.step)}`));
}

describe.each(backends)('concurrent migration runners on %s', (backend) => {
  it('two runners started together, 20 times: each migration applied exactly once, both succeed', async () => {
    // A new PGlite costs ~2 s of WebAssembly start-up, so PGlite rounds share one instance and start each round from
    // an empty public schema (everything the migrations and the ledger create lives there); PostgreSQL rounds each
    // get a new database.
    const shared = backend === 'pglite' ? await openTestDatabase(backend) : undefined;
    for (let round = 1; round <= 20; round += 1) {
      const db = shared ?? (await openTestDatabase(backend));
      if (shared !== undefined) await emptyPublicSchema(shared.driver);
      const other = secondDriver(db);
      try {
        const a = testMigrator(db.driver, { lease: { ttlMs: 10_000, waitMs: 60_000, owner: 'runner-a' } });
        const b = testMigrator(other.driver, { lease: { ttlMs: 10_000, waitMs: 60_000, owner: 'runner-b' } });
        const [resultA, resultB] = await Promise.all([a.migrator.up(), b.migrator.up()]);

        const appliedByEither = [...resultA.applied, ...resultB.applied].map((m) => m.version).sort();
        expect(appliedByEither, `round ${round}`).toEqual(allVersions);
        expect(resultA.currentVersion).toBe(latestVersion);
        expect(resultB.currentVersion).toBe(latestVersion);
        expect((await ledger(db.driver)).map((row) => row.version), `round ${round}`).toEqual(allVersions);
        const steps = completedSteps(a.lines, b.lines);
        expect(steps, `round ${round}`).toHaveLength(totalSteps);
        expect(new Set(steps).size).toBe(totalSteps);
        expect(eventsNamed([...a.lines, ...b.lines], 'migrate.migration.ok')).toHaveLength(allVersions.length);
        const { rows } = await db.driver.execute('SELECT owner FROM schema_migrations_lock');
        expect(rows, 'both leases released').toEqual([]);
      } finally {
        await other.close();
        if (db !== shared) await db.dispose();
      }
    }
    await shared?.dispose();
  }, 300_000);

  it('a runner that finds the lease held waits for it, then re-reads the ledger instead of re-applying', async () => {
    const db = await openTestDatabase(backend);
    const other = secondDriver(db);
    try {
      const first = testMigrator(db.driver, { lease: { owner: 'first', ttlMs: 10_000 } });
      await first.migrator.up({ to: 1 });
      const a = testMigrator(db.driver, { lease: { owner: 'a', ttlMs: 10_000 } });
      const b = testMigrator(other.driver, { lease: { owner: 'b', ttlMs: 10_000 } });
      const [resultA, resultB] = await Promise.all([a.migrator.up(), b.migrator.up()]);
      const waiter = resultA.applied.length === 0 ? a : b;
      expect([resultA.applied.length, resultB.applied.length].sort()).toEqual([0, latestVersion - 1]);
      expect(eventsNamed(waiter.lines, 'migrate.lock.wait').length + eventsNamed(waiter.lines, 'migrate.lock.acquired').length).toBeGreaterThan(0);
      expect(eventsNamed(waiter.lines, 'migrate.step.start')).toEqual([]);
    } finally {
      await other.close();
      await db.dispose();
    }
  });

  it('gives up, naming the holder, when a live lease outlasts the wait', async () => {
    const db = await openTestDatabase(backend);
    try {
      const { migrator } = testMigrator(db.driver, { lease: { waitMs: 300 } });
      await migrator.up({ to: 1 });
      await db.driver.execute(
        `INSERT INTO schema_migrations_lock (id, owner, expires_at) VALUES (1, 'deploy-42', now() + interval '1 hour')`,
      );
      const failure = await migrator.up().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MigrationError);
      expect((failure as Error).message).toContain('deploy-42');
      expect((await ledger(db.driver)).map((row) => row.version)).toEqual([1]);
    } finally {
      await db.dispose();
    }
  });

  it.each([
    ['in the middle of 0002, before the ALTER', /ALTER TABLE videos/],
    ['in the middle of 0003, after two indexes', /videos_mux_playback_id_idx/],
    ['after all steps of 0002, before recording it', /INSERT INTO schema_migrations /],
  ])('a runner killed %s is completed by the next runner once its lease expires', async (_where, killAt) => {
    const db = await openTestDatabase(backend);
    try {
      const doomedDriver = killableDriver(db.driver, killAt);
      const doomed = testMigrator(doomedDriver, { lease: { ttlMs: 1500, owner: 'doomed' } });
      const failure = await doomed.migrator.up().catch((error: unknown) => error);
      expect(doomedDriver.killed).toBe(true);
      expect(failure).toBeInstanceOf(Error);
      expect(failure instanceof RunnerKilled || (failure as Error).cause instanceof RunnerKilled).toBe(true);
      const { rows: leftBehind } = await db.driver.execute<{ owner: string }>('SELECT owner FROM schema_migrations_lock');
      expect(leftBehind.map((row) => row.owner.split('/')[0])).toEqual(['doomed']);

      const next = testMigrator(db.driver, { lease: { ttlMs: 10_000, waitMs: 30_000, owner: 'next' } });
      const result = await next.migrator.up();
      expect(eventsNamed(next.lines, 'migrate.lock.wait')).toHaveLength(1);
      expect(result.currentVersion).toBe(latestVersion);
      expect((await ledger(db.driver)).map((row) => row.version)).toEqual(allVersions);
      expect(await next.migrator.status()).toMatchObject({ pending: [], drift: [], invalidIndexes: [] });
    } finally {
      await db.dispose();
    }
  });

  it('a runner whose lease was taken over cannot record its migration', async () => {
    const db = await openTestDatabase(backend);
    try {
      let stolen = false;
      const robbed = interceptingDriver(db.driver, async (sql) => {
        if (!stolen && sql.includes('INSERT INTO schema_migrations ')) {
          stolen = true;
          await db.driver.execute(`UPDATE schema_migrations_lock SET owner = 'thief', expires_at = now() + interval '1 hour'`);
        }
      });
      const { migrator } = testMigrator(robbed);
      const failure = await migrator.up({ to: 1 }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MigrationError);
      expect((failure as Error).message).toMatch(/no longer held/);
      expect(await ledger(db.driver)).toEqual([]);
      const { rows } = await db.driver.execute<{ owner: string }>('SELECT owner FROM schema_migrations_lock');
      expect(rows, 'the new holder keeps its lease').toEqual([{ owner: 'thief' }]);
    } finally {
      await db.dispose();
    }
  });
});
