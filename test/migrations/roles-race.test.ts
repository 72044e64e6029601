/**
 * Migration 0004 creates cluster-wide roles, and a PostgreSQL cluster may hold many reelay databases migrating at
 * once (CI's does: suites create test databases concurrently). The role-creating statement must then succeed in every
 * one of them. A creator that finds the role already committed gets duplicate_object (42710); one that races a
 * creator whose transaction is still open waits on pg_authid's unique index and gets unique_violation (23505) once
 * the other commits. This runs 0004's own statement, with the role names replaced by throwaway ones, in several
 * sessions forced into that race.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { databaseRolesMigration } from '../../shared/migrations/0004_database_roles.js';
import { stepStatements } from '../../shared/migrations/migration.js';

const url = process.env.DATABASE_URL;
const [createRoles] = stepStatements(databaseRolesMigration.steps[0] ?? { kind: 'transaction', statements: [] });

async function session(applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  await client.connect();
  return client;
}

/** Runs `statement` in `waiters` sessions while a first session holds the roles uncommitted; returns each outcome. */
async function race(statement: string, waiters: number): Promise<Array<{ ok: boolean; sqlState?: string }>> {
  const tag = `reelay-race-${randomBytes(4).toString('hex')}`;
  const holder = await session(tag);
  const others = await Promise.all(Array.from({ length: waiters }, () => session(tag)));
  const monitor = await session(`${tag}-monitor`);
  try {
    await holder.query('BEGIN');
    await holder.query(statement);
    const attempts = others.map(async (client) => {
      await client.query('BEGIN');
      try {
        await client.query(statement);
        await client.query('COMMIT');
        return { ok: true };
      } catch (error) {
        await client.query('ROLLBACK');
        return { ok: false, sqlState: (error as { code?: string }).code };
      }
    });
    // Every other session is now blocked behind the holder's uncommitted roles (a bounded poll, no sleep guess).
    for (let poll = 0; ; poll += 1) {
      const { rows } = await monitor.query(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [tag],
      );
      if (rows[0]?.waiting === waiters) break;
      if (poll > 2_000) throw new Error(`only ${rows[0]?.waiting} of ${waiters} sessions reached the lock`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await holder.query('COMMIT');
    return await Promise.all(attempts);
  } finally {
    await Promise.all([holder, ...others, monitor].map((client) => client.end()));
  }
}

describe.runIf(url !== undefined)('0004 creating its roles while other databases of the cluster do the same', () => {
  const suffix = randomBytes(4).toString('hex');
  const renamed = (statement: string, names: { app: string; read: string }) =>
    statement.replaceAll('reelay_app', names.app).replaceAll('reelay_read', names.read);

  async function dropRoles(names: { app: string; read: string }): Promise<void> {
    const client = await session('reelay-race-cleanup');
    try {
      await client.query(`DROP ROLE IF EXISTS ${names.app}, ${names.read}`);
    } finally {
      await client.end();
    }
  }

  it('succeeds in every session: "already exists" is accepted as duplicate_object and as unique_violation', async () => {
    const names = { app: `reelay_race_app_${suffix}`, read: `reelay_race_read_${suffix}` };
    try {
      expect(await race(renamed(createRoles ?? '', names), 4)).toEqual(Array.from({ length: 4 }, () => ({ ok: true })));
      // Once they are committed, a later database meets duplicate_object, and goes on too.
      const later = await session('reelay-race-later');
      try {
        await expect(later.query(renamed(createRoles ?? '', names))).resolves.toBeDefined();
      } finally {
        await later.end();
      }
    } finally {
      await dropRoles(names);
    }
  });

  it('would fail the racing sessions with unique_violation if only duplicate_object were accepted', async () => {
    const names = { app: `reelay_race_app2_${suffix}`, read: `reelay_race_read2_${suffix}` };
    try {
      const naive = renamed(createRoles ?? '', names).replaceAll(' OR unique_violation', '');
      const outcomes = await race(naive, 3);
      expect(outcomes).toEqual(Array.from({ length: 3 }, () => ({ ok: false, sqlState: '23505' })));
    } finally {
      await dropRoles(names);
    }
  });
});
