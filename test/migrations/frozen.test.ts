/**
 * Migrations are frozen history (shared/migrations/README.md): a deployed database holds the checksum of every
 * migration it applied, and the engine refuses to run when a file no longer matches. So a shipped migration must never
 * change — not by an edit to it, and not by an edit to runtime code it could have imported.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../shared/migrations/index.js';
import { migrationChecksum } from '../../shared/migrations/migration.js';

const root = join(import.meta.dirname, '..', '..');
const migrationsDir = join(root, 'shared', 'migrations');

/**
 * The checksum every migration shipped with. 0001–0003 are what the deployed ledgers hold (computed by main before
 * the migrations were rewritten as literal SQL). When a new migration ships, add its checksum here; never change one.
 */
const shippedChecksums: Readonly<Record<number, string>> = {
  1: 'ec1709839b9e1a04fccebe1ae757162c1b5bf4fb9ae615262794d642542fd77f',
  2: 'ee7c96be37c1cc3f0660096ed97e0b54dc6a92d73213ec656d2fd34d999e7518',
  3: '2cece21d3de0f45b59e2ee53fe546c9479de99591ba03b642ca0137b7bdda53f',
  4: 'ec192afa13a96ac0cca1cf3c8e7f765ef62b8759e7210d6e3ac1a449e95358bf',
  5: '533eb1e8f90adf436d5ae92cdf92b012452c7641692bc096b9b037f7310ea950',
  6: 'b7b9245410bb54389d5e8bd151df4e6403c09a25408fae1185ba2af3131aa239',
};

const migrationFiles = readdirSync(migrationsDir).filter((name) => /^\d{4}_[a-z0-9_]+\.ts$/.test(name)).sort();

/** Every module specifier a TypeScript file imports, re-exports or imports dynamically. */
function importsOf(path: string): string[] {
  return ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles.map((file) => file.fileName);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

describe('shipped migrations are frozen', () => {
  it.each(migrations.map((migration) => [migration.version, migration] as const))('%i keeps the checksum it shipped with', (version, migration) => {
    const shipped = shippedChecksums[version];
    expect(shipped, `migration ${version} (${migration.name}) has no pinned checksum: when it ships, add ${version}: '${migrationChecksum(migration)}' to shippedChecksums`).toBeDefined();
    const now = migrationChecksum(migration);
    if (now !== shipped) {
      expect.fail(
        `migration ${version} (${migration.name}) changed after it shipped: its checksum is now ${now}, it shipped as ${shipped}. ` +
          'Every database that applied it would refuse to migrate (drift). Revert the change and add a new migration instead.',
      );
    }
  });

  it('pins only migrations that exist (a pinned one was never removed)', () => {
    expect(Object.keys(shippedChecksums).map(Number)).toEqual(migrations.map((migration) => migration.version));
  });

  it('lists every migration file, in order, once', () => {
    const versions = migrationFiles.map((name) => Number(name.slice(0, 4)));
    expect(versions).toEqual(migrations.map((migration) => migration.version));
  });

  it.each(migrationFiles)('%s imports nothing but ./migration.js', (name) => {
    const imports = importsOf(join(migrationsDir, name));
    const foreign = imports.filter((specifier) => specifier !== './migration.js');
    expect(foreign, `${name} imports ${foreign.join(', ')}: a migration is literal SQL and may import only ./migration.js (shared/migrations/README.md)`).toEqual([]);
  });

  it('is imported by no runtime code: the runtime has its own schema model (shared/db/schema.ts)', () => {
    const offenders = ['shared', 'functions', 'local']
      .flatMap((dir) => sourceFiles(join(root, dir)))
      .filter((path) => !path.startsWith(`${migrationsDir}/`))
      .flatMap((path) => importsOf(path).filter((specifier) => /(^|\/)migrations\/\d{4}_/.test(specifier)).map((specifier) => `${relative(root, path)} → ${specifier}`));
    expect(offenders).toEqual([]);
  });
});
