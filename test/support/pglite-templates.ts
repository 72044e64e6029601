/**
 * PGlite clusters at each schema version, made once per `vitest run` (see vitest.config.ts, globalSetup) and written
 * as data-directory dumps: a new PGlite costs an initdb (seconds on a loaded machine) and migrating it a second
 * more, while loading a dump costs a fraction of that. Each test still gets its own brand-new, isolated cluster.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { PgliteDriver } from '../../shared/db/pglite-driver.js';
import { silentLogger } from '../../shared/log.js';
import { createMigrator } from '../../shared/migrations/engine.js';
import { migrations } from '../../shared/migrations/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder of `v<N>.tar` dumps (N = 0 for an empty cluster), or '' when the suite runs without the global setup. */
    pgliteTemplateDir: string;
  }
}

export function templateFile(dir: string, version: number): string {
  return join(dir, `v${version}.tar`);
}

/** The dump of a fresh cluster migrated to `version` (0: nothing applied). */
export async function buildTemplate(version: number): Promise<Blob> {
  const db = new PGlite();
  try {
    // dumpDataDir before the cluster is ready never resolves.
    await db.waitReady;
    if (version > 0) await createMigrator({ driver: new PgliteDriver(db), logger: silentLogger }).up({ to: version });
    return await db.dumpDataDir('none');
  } finally {
    await db.close();
  }
}

export async function readTemplate(dir: string, version: number): Promise<Blob> {
  return new Blob([await readFile(templateFile(dir, version))]);
}

/** vitest globalSetup: one initdb, then a dump after every migration. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'reelay-pglite-templates-'));
  const db = new PGlite();
  try {
    await db.waitReady;
    await writeFile(templateFile(dir, 0), Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()));
    const migrator = createMigrator({ driver: new PgliteDriver(db), logger: silentLogger });
    for (const { version } of migrations) {
      await migrator.up({ to: version });
      await writeFile(templateFile(dir, version), Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()));
    }
  } finally {
    await db.close();
  }
  project.provide('pgliteTemplateDir', dir);
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
