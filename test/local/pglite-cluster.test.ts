import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { createPgliteCluster, hasPgliteCluster } from '../../local/pglite-cluster.js';

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

async function scratchFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'reelay-pglite-cluster-'));
  folders.push(folder);
  return folder;
}

describe('the PGlite cluster a first npm start creates on a worker thread', () => {
  it('is absent from an empty folder', async () => {
    const dataDir = await scratchFolder();
    expect(hasPgliteCluster(dataDir)).toBe(false);
  });

  it('is a cluster PGlite then opens, writes to, and finds again on the next open', async () => {
    const dataDir = await scratchFolder();
    await createPgliteCluster(dataDir);
    expect(hasPgliteCluster(dataDir)).toBe(true);

    const db = await PGlite.create(dataDir);
    try {
      await db.exec('CREATE TABLE marks (id int PRIMARY KEY); INSERT INTO marks VALUES (7);');
    } finally {
      await db.close();
    }

    const reopened = await PGlite.create(dataDir);
    try {
      const { rows } = await reopened.query<{ id: number }>('SELECT id FROM marks');
      expect(rows).toEqual([{ id: 7 }]);
    } finally {
      await reopened.close();
    }
  }, 60_000);

  it('fails with the reason when the folder cannot hold one', async () => {
    const parent = await scratchFolder();
    const notAFolder = join(parent, 'file');
    await writeFile(notAFolder, 'in the way');
    const failure = createPgliteCluster(join(notAFolder, 'pglite'));
    await expect(failure).rejects.toThrow(`creating the PGlite cluster in ${join(notAFolder, 'pglite')} failed`);
    await expect(failure).rejects.toThrow(/ENOTDIR|not a directory/i);
  }, 60_000);
});
