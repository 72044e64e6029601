/**
 * GET /api/database/health/details (admin only): the full check the public health route no longer makes. One Data API
 * call per request; 503 with the same shape when the database cannot be reached.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/admin/handler.js';
import { latestVersion } from '../../shared/migrations/index.js';
import { muxColumnNames } from '../../shared/db/schema.js';
import { memoryLogger } from '../../shared/log.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import type { StartedDataApi } from '../support/data-api.js';
import { adminClaims, call, closedPort, dataApiEnv, migrateTo, useDataApiDatabase, userClaims } from './admin-support.js';

const route = { routeKey: 'GET /api/database/health/details', claims: adminClaims } as const;
const allVersions = Array.from({ length: latestVersion }, (_, index) => index + 1);
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

describe.each(backends)('health details on %s through the Data API', (backend) => {
  const local = useDataApiDatabase(backend);
  let db: TestDatabase;
  let api: StartedDataApi;
  beforeEach(() => {
    ({ db, api } = local);
  });

  it('is for the admin group only: 401 without a token, 403 for a user, and no database call', async () => {
    const handler = await createHandler(dataApiEnv(api), { logger: memoryLogger() });
    api.server.stats.reset();
    expect((await call(handler, { routeKey: route.routeKey })).status).toBe(401);
    expect((await call(handler, { routeKey: route.routeKey, claims: userClaims })).status).toBe(403);
    expect(api.server.stats.total()).toBe(0);
  });

  it('is ok on a migrated database and costs one Data API call per request, cold or warm', async () => {
    await migrateTo(db, latestVersion);
    api.server.stats.reset();
    const handler = await createHandler(dataApiEnv(api), { logger: memoryLogger() });
    expect(api.server.stats.total()).toBe(0);

    const cold = await call(handler, route);
    expect(cold.status).toBe(200);
    expect(cold.body).toEqual({
      status: 'ok',
      database: { connected: true, latencyMs: expect.any(Number) },
      schema: { version: latestVersion, latestVersion, pending: [], muxColumns: { present: allMuxColumns, missing: [] } },
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
      schema: { version: 1, pending: allVersions.slice(1), muxColumns: { present: [], missing: allMuxColumns } },
    });
  });

  it('is degraded on a database never migrated (no ledger), still in one answer', async () => {
    const handler = await createHandler(dataApiEnv(api), { logger: memoryLogger() });
    const response = await call(handler, route);
    expect(response.status).toBe(200);
    expect(response.body.schema).toMatchObject({ version: 0, pending: allVersions });
  });

  it('says "resuming" with a 503 while Serverless v2 wakes, and ok once it answers', async () => {
    await migrateTo(db, latestVersion);
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
    await migrateTo(db, latestVersion);
    const env = dataApiEnv(api, { MUX_TOKEN_ID: 'health-token-id', MUX_TOKEN_SECRET: 'health-token-secret' });
    const response = await call(await createHandler(env, { logger: memoryLogger() }), route);
    expect(response.body.mux).toEqual({ configured: true });
    expect(JSON.stringify(response.body)).not.toMatch(/health-token/);
    const viaSecret = await createHandler(dataApiEnv(api, { MUX_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:mux' }), { logger: memoryLogger() });
    expect((await call(viaSecret, route)).body.mux).toEqual({ configured: true });
  });
});

describe('health details without a database', () => {
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
    expect(logger.lines.some((line) => line.event === 'admin.health.database_unreachable')).toBe(true);
  });

  it('is down on a PostgreSQL URL nobody listens on', async () => {
    const port = await closedPort();
    const handler = await createHandler({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/none` }, { logger: memoryLogger() });
    const response = await call(handler, route);
    expect(response.status).toBe(503);
    expect(response.body.status).toBe('down');
  });
});

describe.runIf(backends.includes('postgres'))('health details over a PostgreSQL URL', () => {
  it('is ok on a migrated database reached with DATABASE_URL', async () => {
    const db = await openTestDatabase('postgres');
    try {
      await migrateTo(db, latestVersion);
      if (db.connection.kind !== 'postgres') throw new Error('expected postgres');
      const handler = await createHandler({ DATABASE_URL: db.connection.url }, { logger: memoryLogger() });
      const response = await call(handler, route);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ status: 'ok', schema: { version: latestVersion, pending: [] } });
    } finally {
      await db.dispose();
    }
  });
});
