/**
 * The request schemas' one text primitive, and the safety net behind it: a database error that only text from outside
 * can cause (SQLSTATE 22021, 22P05) is the caller's 400, logged as a gap in the schemas; other data exceptions stay 500s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseError, callerInputError, isDatabaseError, SqlState } from '../../shared/errors.js';
import { errorToHttpResult, text, unstorableTextProblem } from '../../shared/http/index.js';
import { memoryLogger } from '../../shared/log.js';
import * as z from '../../shared/zod.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { startDataApi, type StartedDataApi } from '../support/data-api.js';

describe('text()', () => {
  it('keeps what PostgreSQL text can hold, emoji and other control characters included', () => {
    for (const value of ['plain', 'é😀漢字', 'tab\tand\nnewline', '\u0001\u001f', '\uffff']) {
      expect(text().safeParse(value)).toEqual({ success: true, data: value });
    }
  });

  it('refuses a NUL byte and unpaired surrogates, and keeps the usual string checks around it', () => {
    expect(unstorableTextProblem('a\u0000b')).toMatch(/NUL/);
    expect(unstorableTextProblem('a\ud800')).toMatch(/unpaired surrogate/);
    expect(unstorableTextProblem('\udfffa')).toMatch(/unpaired surrogate/);
    expect(unstorableTextProblem('\ud83d\ude00')).toBeUndefined();
    const title = text().check(z.trim(), z.minLength(1), z.maxLength(5));
    expect(title.safeParse('  ab ')).toEqual({ success: true, data: 'ab' });
    expect(title.safeParse('a\u0000').error?.issues.map((issue) => issue.message)).toEqual(['must not contain NUL characters (\\u0000)']);
    expect(title.safeParse('').success).toBe(false);
    expect(title.safeParse(42).success).toBe(false);
  });
});

describe('shared/zod.ts', () => {
  it('gives zod/mini the English messages classic zod has, which the 400s carry', () => {
    expect(z.string().safeParse(1).error?.issues.map((issue) => issue.message)).toEqual(['Invalid input: expected string, received number']);
    expect(z.strictObject({}).safeParse({ extra: 1 }).error?.issues.map((issue) => issue.message)).toEqual(['Unrecognized key: "extra"']);
  });
});

describe('database errors only a caller can cause', () => {
  const result = (error: unknown) => {
    const logger = memoryLogger();
    const answer = errorToHttpResult(error, logger, 'request-1');
    return { status: answer.statusCode, body: JSON.parse(String(answer.body)), events: logger.lines.map((line) => line.event) };
  };

  it.each([SqlState.characterNotInRepertoire, SqlState.untranslatableCharacter])('maps SQLSTATE %s to a 400 and logs the schema gap', (sqlState) => {
    const answer = result(new DatabaseError({ message: 'invalid byte sequence for encoding "UTF8": 0x00', sqlState }));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({ code: 'validation_failed', message: expect.stringMatching(/NUL characters/) });
    expect(answer.events).toContain('http.request.unstorable_text');
  });

  it.each(['22003', '22P02', '22008', '22012'])('keeps SQLSTATE %s (a reelay bug: the schemas bound every number) a 500', (sqlState) => {
    const answer = result(new DatabaseError({ message: 'value out of range', sqlState }));
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe('internal_error');
    expect(callerInputError(new DatabaseError({ message: 'x', sqlState }))).toBeUndefined();
  });

  describe.each(backends)('as each driver reports them, on %s', (backend) => {
    let db: TestDatabase;
    let dataApi: StartedDataApi;
    beforeAll(async () => {
      db = await openTestDatabase(backend);
      dataApi = await startDataApi(db);
    });
    afterAll(async () => {
      await dataApi?.close();
      await db?.dispose();
    });

    it('a NUL byte in a parameter is SQLSTATE 22021 through the direct driver and the Data API driver alike', async () => {
      for (const driver of [db.driver, dataApi.driver]) {
        const failure = await driver.execute('SELECT CAST(:title AS text) AS title', { title: 'a\u0000b' }).catch((error: unknown) => error);
        expect(isDatabaseError(failure, SqlState.characterNotInRepertoire), String(failure)).toBe(true);
        expect(callerInputError(failure)).toBeDefined();
      }
    });
  });
});
