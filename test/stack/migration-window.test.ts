/**
 * No fallback window after a migration (issue K.4): a function that read the schema before an admin migrated it
 * believes the Mux columns missing for as long as it trusts that answer. Its next create must not defer anything
 * for that: the INSERT fits itself to the live schema, in the one Data API call a create costs.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { createUpload, uploadRequest, videoBytes } from './support.js';

// Longer than the test: no function re-reads the catalog on its own, so only the create itself can notice.
const longTtl = String(10 * 60_000);

describe('the first upload after a migration, from a function that still believes the columns missing', () => {
  let stack: TestStack;
  let alice: string;
  let admin: string;
  const bytes = videoBytes(64 * 1024);

  beforeAll(async () => {
    stack = await startTestStack({ schema: 'legacy', lambdaEnv: { CAPABILITY_TTL_MS: longTtl, CAPABILITY_INCOMPLETE_TTL_MS: longTtl } });
    [alice, admin] = await Promise.all([stack.tokens.mint(`alice-${randomUUID()}`), stack.tokens.mint(`ops-${randomUUID()}`, { admin: true })]);
  });
  afterAll(() => stack?.dispose());

  it('uses the full columns at once, in one Data API call', async () => {
    const before = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Before' }));
    expect(before.schema.usedFallback).toBe(true);

    const applied = await stack.request('POST', '/api/database/run-mux-migration', { token: admin });
    expect(applied.status, applied.text).toBe(200);

    stack.dataApi.stats.reset();
    const after = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Right after' }));
    expect(after.schema).toEqual({ muxColumns: { present: true, missing: [] }, usedFallback: false });
    expect(after.video.mux).toMatchObject({ status: 'pending' });
    expect(stack.dataApi.stats.total()).toBe(1);
    expect(stack.dataApi.stats.statements).toEqual([expect.stringContaining('INSERT INTO videos')]);

    // Nothing was deferred for it: its Mux options are in their column, and the next create names its columns.
    stack.dataApi.stats.reset();
    const next = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Next' }));
    expect(next.schema.usedFallback).toBe(false);
    expect(stack.dataApi.stats.statements.some((sql) => sql.includes('INSERT INTO deferred_mux_data'))).toBe(false);
  });
});
