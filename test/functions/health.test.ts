/** GET /api/database/health: public, one Data API call per request, 503 with the same shape when unreachable. */
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/health/handler.js';
import { muxColumnNames } from '../../shared/db/schema.js';
import { memoryLogger } from '../../shared/log.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import type { StartedDataApi } from '../support/data-api.js';
import { bundledPackages, call, closedPort, dataApiEnv, migrateTo, useDataApiDatabase } from './admin-support.js';

const route = { routeKey: 'GET /api/database/health' } as const;
const allMuxColumns = [...muxColumnNames];
// No wait for a resuming cluster: the first DatabaseResumingException is the answer.
const noWait = { HEALTH_DB_WAIT_MS: '0' };

/** The 503 body: the same shape as a 200, with what could not be read as null. */
const unreachableBody = (status: 'down' | 'resuming') => ({
  status,
  database: { connected: false, latencyMs: expect.any(Number) },
  schema: { version: null, latestVersion: null, pending: null, muxColumns: null },
  mux: { configured: false },
});

describe.each(backends)('health on %s through the Data API', (backend) => {
  const local = useDataApiDatabase(backend);
  let db: TestDatabase;
  let api: StartedDataApi;
  beforeEach(() => {
    ({ db, api } = local);
  });

  it('is ok on a migrated database, without a token, and costs one Data API call per request, cold or warm', async () => {
    await migrateTo(db, 3);
    api.server.stats.reset();
    const handler = await createHandler(dataApiEnv(api), { logger: memoryLogger() });
    expect(api.server.stats.total()).toBe(0);

    const cold = await call(handler, route);
    expect(cold.status).toBe(200);
    expect(cold.body).toEqual({
      status: 'ok',
      database: { connected: true, latencyMs: expect.any(Number) },
      schema: { version: 3, latestVersion: 3, pending: [], muxColumns: { present: allMuxColumns, missing: [] } },
      mux: { configured: false },
    });
    expect(cold.headers['cache-control']).toBe('no-store');
    expect(api.server.stats.total()).toBe(1);

    api.server.stats.reset();
    for (let i = 0; i < 3; i += 1) expect((await call(handler, route)).status).toBe(200);
    expect(api.server.stats.calls.ExecuteStatement).toBe(3);
    expect(api.server.stats.total()).toBe(3);
  });

  it('is degraded (200) at 0001: migrations pending and every Mux column missing', async () => {
    await migrateTo(db, 1);
    const handler = await createHandler(dataApiEnv(api), { logger: memoryLogger() });
    const response = await call(handler, route);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'degraded',
      database: { connected: true },
      schema: { version: 1, pending: [2, 3], muxColumns: { present: [], missing: allMuxColumns } },
    });
  });

  it('is degraded on a database never migrated (no ledger), still in one answer', async () => {
    const handler = await createHandler(dataApiEnv(api), { logger: memoryLogger() });
    const response = await call(handler, route);
    expect(response.status).toBe(200);
    expect(response.body.schema).toMatchObject({ version: 0, pending: [1, 2, 3] });
  });

  it('says "resuming" with a 503 while Serverless v2 wakes, and ok once it answers', async () => {
    await migrateTo(db, 3);
    const impatient = await createHandler(dataApiEnv(api, noWait), { logger: memoryLogger() });
    api.server.faults.failNext('resuming', 3);
    const resuming = await call(impatient, route);
    expect(resuming.status).toBe(503);
    expect(resuming.body).toEqual(unreachableBody('resuming'));
    api.server.faults.clear();

    // Within its short budget, the health check retries a resume once and answers.
    const patient = await createHandler(dataApiEnv(api), { logger: memoryLogger() });
    api.server.faults.failNext('resuming', 1);
    const resumed = await call(patient, route);
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toBe('ok');
  });

  it('reports Mux as configured from the environment without exposing the credentials', async () => {
    await migrateTo(db, 3);
    const env = dataApiEnv(api, { MUX_TOKEN_ID: 'health-token-id', MUX_TOKEN_SECRET: 'health-token-secret' });
    const response = await call(await createHandler(env, { logger: memoryLogger() }), route);
    expect(response.body.mux).toEqual({ configured: true });
    expect(JSON.stringify(response.body)).not.toMatch(/health-token/);
    const viaSecret = await createHandler(dataApiEnv(api, { MUX_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:mux' }), { logger: memoryLogger() });
    expect((await call(viaSecret, route)).body.mux).toEqual({ configured: true });
  });
});

describe('health without a database', () => {
  it('is down with a 503 and the same shape when the Data API endpoint refuses connections', async () => {
    const port = await closedPort();
    const env = {
      RDS_RESOURCE_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:gone',
      RDS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gone',
      DATA_API_ENDPOINT: `http://127.0.0.1:${port}`,
      ...noWait,
    };
    const logger = memoryLogger();
    const response = await call(await createHandler(env, { logger }), route);
    expect(response.status).toBe(503);
    expect(response.body).toEqual(unreachableBody('down'));
    expect(logger.lines.some((line) => line.event === 'health.database_unreachable')).toBe(true);
  });

  it('is down on a PostgreSQL URL nobody listens on', async () => {
    const port = await closedPort();
    const handler = await createHandler({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/none` }, { logger: memoryLogger() });
    const response = await call(handler, route);
    expect(response.status).toBe(503);
    expect(response.body.status).toBe('down');
  });

  it('bundles without the Mux SDK and without the S3 client', async () => {
    const packages = await bundledPackages('functions/health/handler.ts');
    expect(packages.has('@aws-sdk/client-rds-data')).toBe(true);
    expect(packages.has('@mux/mux-node')).toBe(false);
    expect(packages.has('@aws-sdk/client-s3')).toBe(false);
    expect(packages.has('@aws-sdk/s3-request-presigner')).toBe(false);
  });
});

describe.runIf(backends.includes('postgres'))('health over a PostgreSQL URL', () => {
  it('is ok on a migrated database reached with DATABASE_URL', async () => {
    const db = await openTestDatabase('postgres');
    try {
      await migrateTo(db, 3);
      if (db.connection.kind !== 'postgres') throw new Error('expected postgres');
      const handler = await createHandler({ DATABASE_URL: db.connection.url }, { logger: memoryLogger() });
      const response = await call(handler, route);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ status: 'ok', schema: { version: 3, pending: [] } });
    } finally {
      await db.dispose();
    }
  });
});
