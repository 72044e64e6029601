/**
 * Fresh, isolated databases for suites: an in-memory PGlite always, and a throwaway database on the PostgreSQL at
 * DATABASE_URL when it is set (CI and `.ci/run` set it). Every suite that touches a database iterates `backends`.
 */
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Driver } from '../../shared/db/driver.js';
import { PgDriver } from '../../shared/db/pg-driver.js';
import { PgliteDriver } from '../../shared/db/pglite-driver.js';

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

export async function openTestDatabase(backend: BackendName): Promise<TestDatabase> {
  return backend === 'pglite' ? openPglite() : openPostgres();
}

/**
 * A fresh PGlite runs initdb, which takes seconds on a loaded machine; loading a copy of an empty cluster's data
 * directory takes a fraction of that. Each test process makes the empty cluster once and starts every database
 * from its dump: still a brand-new, empty, isolated database each time.
 */
let emptyCluster: Promise<File | Blob> | undefined;

function emptyClusterDump(): Promise<File | Blob> {
  emptyCluster ??= (async () => {
    const template = new PGlite();
    try {
      // dumpDataDir before the cluster is ready never resolves.
      await template.waitReady;
      return await template.dumpDataDir('none');
    } finally {
      await template.close();
    }
  })();
  return emptyCluster;
}

async function openPglite(): Promise<TestDatabase> {
  const db = new PGlite({ loadDataDir: await emptyClusterDump() });
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
