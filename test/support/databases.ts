/**
 * Fresh, isolated databases for suites: an in-memory PGlite always, and a throwaway database on the PostgreSQL at
 * DATABASE_URL when it is set (CI and `.ci/run` set it). Every suite that touches a database iterates `backends`.
 */
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { inject } from 'vitest';
import type { Driver } from '../../shared/db/driver.js';
import { PgDriver } from '../../shared/db/pg-driver.js';
import { PgliteDriver } from '../../shared/db/pglite-driver.js';
import { createMigrator } from '../../shared/migrations/engine.js';
import { silentLogger } from '../../shared/log.js';
import { buildTemplate, readTemplate } from './pglite-templates.js';

export type BackendName = 'pglite' | 'postgres';

export const backends: BackendName[] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export type TestConnection = { kind: 'pglite'; db: PGlite } | { kind: 'postgres'; url: string };

export interface TestDatabase {
  readonly backend: BackendName;
  /** A PgDriver (postgres) or PgliteDriver (pglite) on the fresh database. */
  readonly driver: Driver;
  /** How to reach the same database without the driver (e.g. to start a local Data API endpoint on it). */
  readonly connection: TestConnection;
  /** Closes the driver and deletes the database. */
  dispose(): Promise<void>;
}

export interface OpenOptions {
  /** Apply the migrations up to this version first (0 or absent: an empty database). */
  readonly migratedTo?: number;
}

export async function openTestDatabase(backend: BackendName, options: OpenOptions = {}): Promise<TestDatabase> {
  const version = options.migratedTo ?? 0;
  if (backend === 'pglite') return openPglite(version);
  const db = await openPostgres();
  if (version > 0) await createMigrator({ driver: db.driver, logger: silentLogger }).up({ to: version });
  return db;
}

/**
 * A fresh PGlite runs initdb, which takes seconds on a loaded machine; loading a copy of a cluster's data directory
 * takes a fraction of that. The global setup (test/support/pglite-templates.ts) dumps a cluster at every schema
 * version once per run; without it (another vitest config), each test process makes the dumps it needs, once.
 * Every database is still a brand-new, isolated cluster.
 */
const templates = new Map<number, Promise<Blob>>();

/** The data directory of a cluster at `version` (0: empty), for `new PGlite({ loadDataDir })`. */
export function templateDump(version = 0): Promise<Blob> {
  let dump = templates.get(version);
  if (dump === undefined) {
    const dir = inject('pgliteTemplateDir');
    dump = dir ? readTemplate(dir, version) : buildTemplate(version);
    templates.set(version, dump);
  }
  return dump;
}

async function openPglite(version: number): Promise<TestDatabase> {
  const db = new PGlite({ loadDataDir: await templateDump(version) });
  await db.waitReady;
  const driver = new PgliteDriver(db);
  return {
    backend: 'pglite',
    driver,
    connection: { kind: 'pglite', db },
    async dispose() {
      await driver.close();
      if (!db.closed) await db.close();
    },
  };
}

function maintenanceUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('The postgres backend needs DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)');
  return url;
}

async function withMaintenanceClient(work: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl() });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

async function openPostgres(): Promise<TestDatabase> {
  const name = `reelay_t_${randomBytes(6).toString('hex')}`;
  await withMaintenanceClient(async (client) => {
    await client.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(maintenanceUrl());
  url.pathname = `/${name}`;
  const driver = PgDriver.fromUrl(url.toString(), { max: 10 });
  return {
    backend: 'postgres',
    driver,
    connection: { kind: 'postgres', url: url.toString() },
    async dispose() {
      await driver.close();
      // FORCE ends connections others opened on it (e.g. a local Data API endpoint that was not closed).
      await withMaintenanceClient(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}
