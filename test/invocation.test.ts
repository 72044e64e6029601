/**
 * What an operator reads in a function's logs: every line tied to its invocation (request id, cold start, X-Ray trace
 * id) and every error with its own fields, stack and chain of causes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkDatabaseConnection, unavailableError } from '../shared/db/database-utils.js';
import type { Executor } from '../shared/db/driver.js';
import { DatabaseUnavailableError } from '../shared/errors.js';
import { xrayTraceRoot } from '../shared/invocation.js';
import { memoryLogger } from '../shared/log.js';
import { lazyHandler } from '../shared/runtime/lazy.js';

const traceHeader = (root: string) => `Root=${root};Parent=53995c3f42cd8ad8;Sampled=1`;
const context = (awsRequestId: string) => ({ awsRequestId, getRemainingTimeInMillis: () => 30_000 });

describe('log lines of a Lambda invocation', () => {
  const savedTrace = process.env._X_AMZN_TRACE_ID;
  afterEach(() => {
    if (savedTrace === undefined) delete process.env._X_AMZN_TRACE_ID;
    else process.env._X_AMZN_TRACE_ID = savedTrace;
  });

  it('carry the request id, the cold start of the first invocation only, and the trace root Lambda sets per invocation', async () => {
    const logger = memoryLogger('info');
    const handler = lazyHandler(async () => async (event: { n: number }) => {
      logger.info('work.done', { n: event.n });
      return event.n;
    });
    process.env._X_AMZN_TRACE_ID = traceHeader('1-5759e988-bd862e3fe1be46a994272793');
    await handler({ n: 1 }, context('request-1'));
    process.env._X_AMZN_TRACE_ID = traceHeader('1-5759e989-000000000000000000000002');
    await handler({ n: 2 }, context('request-2'));
    expect(logger.lines.map(({ requestId, coldStart, xrayTraceId, n }) => ({ requestId, coldStart, xrayTraceId, n }))).toEqual([
      { requestId: 'request-1', coldStart: true, xrayTraceId: '1-5759e988-bd862e3fe1be46a994272793', n: 1 },
      { requestId: 'request-2', coldStart: false, xrayTraceId: '1-5759e989-000000000000000000000002', n: 2 },
    ]);
  });

  it('keep concurrent invocations apart, across awaits', async () => {
    const logger = memoryLogger('info');
    const handler = lazyHandler(async () => async (event: { id: string; waitMs: number }) => {
      logger.info('work.started');
      await new Promise((resolve) => setTimeout(resolve, event.waitMs));
      logger.info('work.finished', { id: event.id });
    });
    await Promise.all([handler({ id: 'slow', waitMs: 30 }, context('slow')), handler({ id: 'fast', waitMs: 1 }, context('fast'))]);
    const finished = logger.lines.filter((line) => line.event === 'work.finished');
    expect(finished.map((line) => [line.id, line.requestId])).toEqual([
      ['fast', 'fast'],
      ['slow', 'slow'],
    ]);
  });

  it('have no invocation keys outside an invocation', () => {
    const logger = memoryLogger('info');
    logger.info('boot');
    expect(logger.lines[0]).not.toHaveProperty('requestId');
    expect(logger.lines[0]).not.toHaveProperty('xrayTraceId');
  });

  it('read the trace root from X-Ray headers in any order, and nothing from a header without one', () => {
    expect(xrayTraceRoot('Sampled=0;Root=1-67891233-abcdef012345678912345678;Parent=1')).toBe('1-67891233-abcdef012345678912345678');
    expect(xrayTraceRoot('Parent=1;Sampled=0')).toBeUndefined();
    expect(xrayTraceRoot(undefined)).toBeUndefined();
  });
});

describe('an error in a log line', () => {
  it('is written with its own fields, its stack and its chain of causes', () => {
    const logger = memoryLogger('info');
    const sdkError = Object.assign(new Error('Communications link failure'), { name: 'DatabaseErrorException', retryable: true });
    const postgres = Object.assign(new Error('could not serialize access'), { sqlState: '40001', hint: 'retry the transaction', detail: 'a concurrent update' });
    const wrapped = new DatabaseUnavailableError('Data API ExecuteStatement still failing', 'unavailable', { cause: sdkError });
    logger.error('request.failed', { error: wrapped, other: new Error('outer', { cause: postgres }) });
    const line = logger.lines[0] as Record<string, Record<string, unknown>>;
    expect(line.error).toMatchObject({
      name: 'DatabaseUnavailableError',
      message: 'Data API ExecuteStatement still failing',
      code: 'database_unavailable',
      reason: 'unavailable',
      stack: expect.stringContaining('DatabaseUnavailableError: Data API ExecuteStatement still failing'),
      cause: { name: 'DatabaseErrorException', message: 'Communications link failure', retryable: true, stack: expect.any(String) },
    });
    expect(line.other?.cause).toMatchObject({ sqlState: '40001', hint: 'retry the transaction', detail: 'a concurrent update' });
  });

  it('stops a cycle of causes', () => {
    const logger = memoryLogger('info');
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    Object.assign(first, { cause: second });
    logger.error('cycle', { error: first });
    expect(JSON.stringify(logger.lines[0]).match(/"message":"(first|second)"/g)?.length).toBe(6);
  });
});

describe('a database reported unreachable', () => {
  it('is thrown with the error that made it unreachable as its cause, which the report itself never shows', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432 password=hunter2'), { code: 'ECONNREFUSED' });
    const executor: Executor = {
      execute: () => Promise.reject(refused),
      batch: () => Promise.reject(refused),
    };
    const connection = await checkDatabaseConnection(executor);
    expect(connection.connected).toBe(false);
    expect(JSON.stringify(connection)).not.toContain('hunter2');
    const error = unavailableError(connection);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.cause).toBe(refused);
  });
});
