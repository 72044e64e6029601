/**
 * Error codes are checked by the compiler: every code has a row in the HTTP table, and a code outside the union does
 * not compile. The `@ts-expect-error` lines are the test of that (`npm run typecheck` fails if one of them stops
 * being an error); the cases below check what the rows answer.
 */
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  DatabaseError,
  MigrationError,
  MuxApiError,
  NotFoundError,
  ReelayError,
  type ReelayErrorCode,
} from '../../shared/errors.js';
import { DataApiRequestError } from '../../shared/db/data-api-errors.js';
import { errorCodeResponses, errorToHttpResult, type ErrorCodeResponse } from '../../shared/http/response.js';
import { memoryLogger } from '../../shared/log.js';
import { MuxConfigurationError } from '../../shared/mux/config.js';

/** A row: how the code is answered, or null for an internal error. */
type TableRow = ErrorCodeResponse | null;

// A code added to the union without a row in the table: the table no longer satisfies the record of all codes.
// @ts-expect-error 'brand_new_code' has no row in errorCodeResponses
export const missingRow: Record<ReelayErrorCode | 'brand_new_code', TableRow> = errorCodeResponses;

// A subclass cannot invent a code the union (and so the table) does not know.
export class InventedCodeError extends ReelayError {
  // @ts-expect-error 'invented_code' is not a ReelayErrorCode
  readonly code = 'invented_code';
}

// The table names nothing beyond the union either.
export const noExtraRows: Record<keyof typeof errorCodeResponses, TableRow> = errorCodeResponses satisfies Record<ReelayErrorCode, TableRow>;

function answer(error: unknown) {
  const result = errorToHttpResult(error, memoryLogger(), 'req-1');
  return { status: result.statusCode, body: JSON.parse(result.body ?? '{}') as { error: { code: string; message: string } } };
}

describe('the error-code table', () => {
  it('answers internal codes with a 500 internal_error that names only the request id', () => {
    const internal: ReelayError[] = [
      new ConfigurationError('UPLOAD_BUCKET is required', { variable: 'UPLOAD_BUCKET' }),
      new MuxConfigurationError('Mux is not configured'),
      new DatabaseError({ message: 'boom', sqlState: '42601' }),
      new DataApiRequestError('refused', 'BadRequestException'),
    ];
    for (const error of internal) {
      expect(errorCodeResponses[error.code]).toBeNull();
      expect(answer(error)).toEqual({ status: 500, body: { error: { code: 'internal_error', message: 'An unexpected error occurred (request req-1).' } } });
    }
  });

  it('keeps the codes clients see', () => {
    expect(answer(new NotFoundError('no such video'))).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no such video' } } });
    expect(answer(new MigrationError('0003 drifted')).body.error).toEqual({ code: 'migration_failed', message: '0003 drifted' });
    expect(answer(new MuxApiError('upstream said 500', 500, true))).toMatchObject({ status: 502, body: { error: { code: 'mux_api_error' } } });
  });

  it('gives the two configuration errors one scheme and one family', () => {
    expect(new ConfigurationError('x').code).toBe('config_invalid');
    expect(new MuxConfigurationError('x').code).toBe('mux_config_invalid');
    expect(new MuxConfigurationError('x')).toBeInstanceOf(ConfigurationError);
  });
});
