/**
 * Databases for the benchmarks: throwaway databases on the PostgreSQL at DATABASE_URL when it is set, else embedded
 * PGlite. A large table is built once into a template and copied (`CREATE DATABASE … TEMPLATE`) for every variant,
 * so each variant starts from a freshly built, byte-identical table without paying for the build again.
 */
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Driver } from '../../shared/db/driver.js';
import { PgDriver } from '../../shared/db/pg-driver.js';
import { PgliteDriver } from '../../shared/db/pglite-driver.js';
import { silentLogger } from '../../shared/log.js';
import { createMigrator } from '../../shared/migrations/engine.js';
import type { BackendConfig } from '../../local/data-api/server.js';

export type BenchBackend = 'postgres' | 'pglite';

export function benchBackend(): BenchBackend {
  return process.env.DATABASE_URL ? 'postgres' : 'pglite';
}

export interface BenchDatabase {
  readonly backend: BenchBackend;
  readonly driver: Driver;
  /** For a local Data API endpoint (or the local stack) on the same database. */
  readonly connection: BackendConfig;
  /** A second, independent session (PostgreSQL: its own connection; PGlite: the same single session). */
  openSession(): Promise<Driver>;
  dispose(): Promise<void>;
}

export interface DatabaseTemplate {
  readonly backend: BenchBackend;
  /** A fresh database holding what `build` made. */
  copy(): Promise<BenchDatabase>;
  dispose(): Promise<void>;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function databaseUrl(name: string): string {
  const url = new URL(process.env.DATABASE_URL as string);
  url.pathname = `/${name}`;
  return url.toString();
}

function postgresDatabase(name: string): BenchDatabase {
  const url = databaseUrl(name);
  const driver = PgDriver.fromUrl(url, { max: 4 });
  const sessions: Driver[] = [];
  return {
    backend: 'postgres',
    driver,
    connection: { kind: 'postgres', url },
    async openSession() {
      const session = PgDriver.fromUrl(url, { max: 1 });
      sessions.push(session);
      return session;
    },
    async dispose() {
      await Promise.all([driver, ...sessions].map((each) => each.close()));
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

function pgliteDatabase(db: PGlite): BenchDatabase {
  const driver = new PgliteDriver(db);
  return {
    backend: 'pglite',
    driver,
    connection: { kind: 'pglite', db },
    async openSession() {
      return driver;
    },
    async dispose() {
      await driver.close();
      if (!db.closed) await db.close();
    },
  };
}

/** An empty database migrated to `version` (0 = nothing). */
export async function openBenchDatabase(version: number): Promise<BenchDatabase> {
  let database: BenchDatabase;
  if (benchBackend() === 'postgres') {
    const name = `reelay_bench_${randomBytes(5).toString('hex')}`;
    await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
    database = postgresDatabase(name);
  } else {
    const db = new PGlite();
    await db.waitReady;
    database = pgliteDatabase(db);
  }
  if (version > 0) await createMigrator({ driver: database.driver, logger: silentLogger }).up({ to: version });
  return database;
}

/**
 * Builds a database once with `build` and hands out fresh copies of it. PostgreSQL copies the files; PGlite (one
 * in-process instance per database, no templates) runs `build` again for every copy.
 */
export async function databaseTemplate(build: (database: BenchDatabase) => Promise<void>): Promise<DatabaseTemplate> {
  if (benchBackend() === 'pglite') {
    return {
      backend: 'pglite',
      async copy() {
        const database = await openBenchDatabase(0);
        await build(database);
        return database;
      },
      async dispose() {},
    };
  }
  const template = await openBenchDatabase(0);
  const templateName = new URL((template.connection as { url: string }).url).pathname.slice(1);
  await build(template);
  await template.driver.close();
  return {
    backend: 'postgres',
    async copy() {
      const name = `reelay_bench_${randomBytes(5).toString('hex')}`;
      await withAdmin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${templateName}`));
      return postgresDatabase(name);
    },
    async dispose() {
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${templateName} WITH (FORCE)`));
    },
  };
}

/**
 * Appends `count` videos of one owner (or of `owners` owners, round robin), one second apart in created_at, in
 * batches of one statement each (generate_series runs inside the database: no rows cross the wire).
 */
export async function fillVideos(driver: Driver, count: number, options: { owners?: number; batch?: number } = {}): Promise<void> {
  const owners = options.owners ?? 1;
  const batch = options.batch ?? 100_000;
  for (let start = 1; start <= count; start += batch) {
    const end = Math.min(count, start + batch - 1);
    await driver.execute(
      `INSERT INTO videos (owner_id, title, original_filename, content_type, size_bytes, s3_key, status, created_at, updated_at)
       SELECT 'bench-owner-' || (g % :owners), 'Video ' || g, 'clip-' || g || '.mp4', 'video/mp4', 1000000 + g,
              'uploads/' || gen_random_uuid() || '/source.mp4', 'ready',
              TIMESTAMP '2024-01-01 00:00:00' + g * INTERVAL '1 second', TIMESTAMP '2024-01-01 00:00:00' + g * INTERVAL '1 second'
         FROM generate_series(CAST(:start AS integer), CAST(:end AS integer)) AS g`,
      { owners, start, end },
    );
  }
  await driver.execute('ANALYZE videos');
}
