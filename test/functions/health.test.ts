/**
 * GET /api/database/health: public liveness that never reaches the database (so it cannot wake a paused cluster or
 * spend the Data API's budget) and reveals nothing about the schema. The full check is the admin's
 * GET /api/database/health/details (test/functions/admin-health.test.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/health/handler.js';
import { memoryLogger } from '../../shared/log.js';
import { backends, type TestDatabase } from '../support/databases.js';
import type { StartedDataApi } from '../support/data-api.js';
import { call, dataApiEnv, migrateTo, packagesInBundle, useDataApiDatabase } from './admin-support.js';

const route = { routeKey: 'GET /api/database/health' } as const;

describe.each(backends)('public health beside a database on %s', (backend) => {
  const local = useDataApiDatabase(backend);
  let db: TestDatabase;
  let api: StartedDataApi;
  beforeEach(() => {
    ({ db, api } = local);
  });

  it('answers ok without a token and makes no Data API call, cold or warm', async () => {
    await migrateTo(db, 1);
    api.server.stats.reset();
    // Even handed a database's settings, it does not use them.
    const handler = await createHandler(dataApiEnv(api), { logger: memoryLogger() });
    for (let i = 0; i < 5; i += 1) {
      const response = await call(handler, route);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok' });
      expect(response.headers['cache-control']).toBe('no-store');
    }
    expect(api.server.stats.total()).toBe(0);
  });

  it('answers ok while the database is paused or unreachable: it does not wake it', async () => {
    api.server.faults.failNext('resuming', 10);
    try {
      const response = await call(await createHandler(dataApiEnv(api, { HEALTH_DB_WAIT_MS: '0' }), { logger: memoryLogger() }), route);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok' });
      expect(api.server.stats.total()).toBe(0);
    } finally {
      api.server.faults.clear();
    }
  });
});

describe('public health', () => {
  it('reveals no schema, migration, column or configuration detail', async () => {
    const env = { MUX_TOKEN_ID: 'health-token-id', MUX_TOKEN_SECRET: 'health-token-secret', DATABASE_URL: 'postgres://reelay:pw@127.0.0.1:1/none' };
    const response = await call(await createHandler(env, { logger: memoryLogger() }), route);
    expect(Object.keys(response.body)).toEqual(['status']);
    expect(JSON.stringify(response.body)).not.toMatch(/schema|pending|mux|version|health-token|reelay:pw/);
  });

  it('bundles without a database driver, zod, the Mux SDK or the S3 client', async () => {
    const packages = await packagesInBundle('functions/health/handler.ts');
    for (const absent of ['@aws-sdk/client-rds-data', 'pg', '@electric-sql/pglite', 'zod', '@mux/mux-node', '@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner']) {
      expect(packages.has(absent), absent).toBe(false);
    }
  });
});
