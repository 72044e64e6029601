/**
 * Creating an empty PGlite cluster (its initdb) is the slowest step of a first `npm start`: seconds of WASM on one
 * thread. Run on a worker thread it overlaps with everything else start-up does (loading modules, starting S3, the
 * Mux emulator, the API) instead of coming before it; the stack then opens the finished cluster as on any later start.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

// Plain CommonJS evaluated by the worker, so it runs the same under tsx, vitest or compiled code.
const initdbWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglite);
PGlite.create(workerData.dataDir)
  .then((db) => db.close())
  .then(() => parentPort.postMessage({ ok: true }), (error) => parentPort.postMessage({ ok: false, message: String(error && error.stack || error) }));
`;

interface InitdbResult {
  readonly ok: boolean;
  readonly message?: string;
}

/** Whether `dataDir` already holds a cluster (PGlite resumes from one when PG_VERSION is there, as we check). */
export function hasPgliteCluster(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION'));
}

/** Creates the cluster files in the existing, empty folder `dataDir` on a worker thread; resolves once they are on disk. */
export function createPgliteCluster(dataDir: string): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve();
    };
    const worker = new Worker(initdbWorkerSource, { eval: true, workerData: { pglite, dataDir } });
    worker.once('message', (result: InitdbResult) => settle(result.ok ? undefined : new Error(`creating the PGlite cluster in ${dataDir} failed: ${result.message}`)));
    worker.once('error', (error) => settle(error));
    worker.once('exit', (code) => settle(new Error(`the PGlite initdb worker exited with code ${code} before finishing`)));
  });
}
