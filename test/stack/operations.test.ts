/**
 * End to end: the public health route (liveness only, never the database), the admin-only
 * full health check, migration status/apply routes (401 without a token, 403 without the admin group), the
 * diagnostics page, and the migrate function invoked directly.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestVersion } from '../../shared/migrations/index.js';
import { eventually, startTestStack, type TestStack } from '../support/local-stack.js';
import { adminRoutes, createUpload, expectClientError, isReady, putSingle, uploadRequest, videoBytes, waitForVideo, type SingleUpload } from './support.js';

interface HealthBody {
  status: string;
  database: { connected: boolean; latencyMs: number };
  schema: { version: number | null; pending: unknown[] | null; muxColumns: { missing: string[] } | null };
  mux: { configured: boolean };
}

describe('health, migrations and diagnostics through the local stack', () => {
  let stack: TestStack;
  let alice: string;
  let admin: string;

  beforeAll(async () => {
    stack = await startTestStack({ lambdaEnv: { HEALTH_DB_WAIT_MS: '0', STUCK_UPLOAD_HOURS: '0.0001' } });
    [alice, admin] = await Promise.all([stack.tokens.mint(`alice-${randomUUID()}`), stack.tokens.mint(`ops-${randomUUID()}`, { admin: true })]);
  });
  afterAll(() => stack?.dispose());

  it('answers health publicly with "ok" and nothing else, without a single Data API call', async () => {
    stack.dataApi.stats.reset();
    for (let i = 0; i < 5; i += 1) {
      const health = await stack.request('GET', '/api/database/health');
      expect(health.status, health.text).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });
    }
    expect(stack.dataApi.stats.total()).toBe(0);
  });

  it('answers public health while the database is resuming: it neither wakes nor waits for it', async () => {
    stack.dataApi.faults.failNext('resuming', 50);
    try {
      const health = await stack.request('GET', '/api/database/health');
      expect(health.status, health.text).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });
    } finally {
      stack.dataApi.faults.clear();
    }
  });

  it('gives an admin the full check: database connected, schema current, Mux configured', async () => {
    const health = await stack.request<HealthBody>('GET', '/api/database/health/details', { token: admin });
    expect(health.status, health.text).toBe(200);
    expect(health.body).toMatchObject({
      status: 'ok',
      database: { connected: true, latencyMs: expect.any(Number) },
      schema: { version: latestVersion, pending: [], muxColumns: { missing: [] } },
      mux: { configured: true },
    });
  });

  it('answers the full check with a 503 of the same shape while the database is resuming', async () => {
    stack.dataApi.faults.failNext('resuming', 50);
    try {
      const health = await stack.request<HealthBody>('GET', '/api/database/health/details', { token: admin });
      expect(health.status, health.text).toBe(503);
      expect(health.body).toMatchObject({ status: 'resuming', database: { connected: false }, mux: { configured: true } });
      expect(Object.keys(health.body).sort()).toEqual(['database', 'mux', 'schema', 'status']);
    } finally {
      stack.dataApi.faults.clear();
    }
    expect((await stack.request('GET', '/api/database/health/details', { token: admin })).status).toBe(200);
  });

  it.each(adminRoutes)('refuses %s %s without a token (401) and without the admin group (403)', async (method, path) => {
    expect((await stack.request(method, path)).status).toBe(401);
    expectClientError(await stack.request(method, path, { token: alice }), 403, 'forbidden');
  });

  it.each(adminRoutes)('refuses %s %s to a member of a group named "x,admin" (403)', async (method, path) => {
    const spoof = await stack.tokens.mint(`mallory-${randomUUID()}`, { groups: ['x,admin'] });
    expectClientError(await stack.request(method, path, { token: spoof }), 403, 'forbidden');
  });

  it('shows the migration status to an admin', async () => {
    const status = await stack.request<{ currentVersion: number; latestVersion: number; applied: Array<{ version: number }>; pending: unknown[]; drift: unknown[]; muxColumns: { missing: string[] } }>(
      'GET', '/api/database/run-mux-migration', { token: admin },
    );
    expect(status.status, status.text).toBe(200);
    expect(status.body).toMatchObject({ currentVersion: latestVersion, latestVersion, pending: [], drift: [], muxColumns: { missing: [] } });
    expect(status.body.applied.map((migration) => migration.version)).toEqual(Array.from({ length: latestVersion }, (_, index) => index + 1));
  });

  it('applies nothing when an admin asks for the migration on a current schema', async () => {
    const applied = await stack.request<{ ran: unknown[]; status: { currentVersion: number } }>('POST', '/api/database/run-mux-migration', { token: admin });
    expect(applied.status, applied.text).toBe(200);
    expect(applied.body.ran).toEqual([]);
    expect(applied.body.status.currentVersion).toBe(latestVersion);
  });

  it('reports videos by status, stuck uploads and the configuration without secrets', async () => {
    const bytes = videoBytes(8 * 1024);
    const stuck = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Never uploaded' }));
    const done = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Uploaded' }));
    expect((await putSingle(done.upload as SingleUpload, bytes)).status).toBe(200);
    await waitForVideo(stack, alice, done.video.id, isReady);

    // STUCK_UPLOAD_HOURS is 0.36 s here: ask until the upload that never came is that old, instead of sleeping.
    type Diagnostics = {
      counts: { available: boolean; total: number; byStatus: Record<string, number> };
      stuck: { available: boolean; uploads: { count: number; sample: Array<{ id: string }> } };
      configuration: unknown;
    };
    const diagnostics = await eventually(
      async () => {
        const answer = await stack.request<Diagnostics>('GET', '/api/debug/video-diagnostics', { token: admin });
        return answer.status !== 200 || answer.body.stuck.uploads.sample.some((video) => video.id === stuck.video.id) ? answer : undefined;
      },
      () => 'the never-uploaded video to be reported stuck',
    );
    expect(diagnostics.status, diagnostics.text).toBe(200);
    expect(diagnostics.body.counts).toMatchObject({ available: true, total: 2, byStatus: { ready: 1, awaiting_upload: 1 } });
    expect(diagnostics.body.stuck.available).toBe(true);
    expect(diagnostics.body.stuck.uploads.sample.map((video) => video.id)).toContain(stuck.video.id);
    expect(diagnostics.body.configuration).toBeDefined();
    for (const secret of ['MUX_TOKEN_SECRET', 'MUX_WEBHOOK_SECRET', 'AWS_SECRET_ACCESS_KEY']) {
      expect(diagnostics.text).not.toContain(stack.env[secret]);
    }
  });

  it('runs the migrate function when invoked directly, and refuses a bad payload', async () => {
    const status = (await stack.invoke.migrate({ action: 'status' })) as { action: string; result: { currentVersion: number; pending: unknown[] } };
    expect(status).toMatchObject({ action: 'status', result: { currentVersion: latestVersion, pending: [] } });
    await expect(stack.invoke.migrate({ action: 'drop-everything' })).rejects.toThrow();
  });
});
