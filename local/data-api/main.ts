/**
 * Runs the local Data API on its own: `tsx local/data-api/main.ts`.
 *
 * Backed by DATABASE_URL when set, otherwise by PGlite (on disk at PGLITE_DATA_DIR, default .local/pglite).
 * Listens on PORT (default 8089). Point an RDSDataClient's `endpoint` at the printed address; any resource and secret
 * ARNs are accepted.
 */

import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { createLogger } from '../../shared/log.js';
import { startLocalDataApi, type BackendConfig } from './server.js';

const logger = createLogger({ keys: { service: 'local-data-api' } });

async function backendFromEnv(): Promise<{ config: BackendConfig; close: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) return { config: { kind: 'postgres', url }, close: async () => {} };
  const dataDir = process.env.PGLITE_DATA_DIR ?? '.local/pglite';
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  return { config: { kind: 'pglite', db }, close: () => db.close() };
}

const backend = await backendFromEnv();
const server = await startLocalDataApi({ backend: backend.config, port: Number(process.env.PORT ?? 8089), logger });
process.stdout.write(`Local Data API listening at ${server.endpoint} (${backend.config.kind})\n`);

const shutdown = async () => {
  await server.close();
  await backend.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
