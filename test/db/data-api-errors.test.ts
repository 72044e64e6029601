/**
 * Reading Postgres errors out of Data API exception messages, in both shapes AWS has used, and deciding which
 * failures may be retried.
 */
import { BadRequestException, DatabaseErrorException, RDSDataServiceException } from '@aws-sdk/client-rds-data';
import { describe, expect, it } from 'vitest';
import { classifyDataApiFailure, DataApiRequestError, parseDataApiErrorMessage } from '../../shared/db/data-api-errors.js';
import { toReelayError } from '../../shared/db/data-api-driver.js';
import { DatabaseError } from '../../shared/errors.js';

describe('parseDataApiErrorMessage: Serverless v2 / provisioned (DatabaseErrorException)', () => {
  it('reads message, position and SQLSTATE', () => {
    expect(parseDataApiErrorMessage('ERROR: relation "leaderboard_agg" does not exist; Position: 13; SQLState: 42P01')).toEqual({
      message: 'relation "leaderboard_agg" does not exist',
      position: 13,
      sqlState: '42P01',
    });
  });

  it('reads a hint that itself ends in a full stop before the separator', () => {
    expect(
      parseDataApiErrorMessage(
        'ERROR: cannot drop schema test because other objects depend on it; Hint: Use DROP ... CASCADE to drop the dependent objects too.; SQLState: 2BP01',
      ),
    ).toEqual({
      message: 'cannot drop schema test because other objects depend on it',
      hint: 'Use DROP ... CASCADE to drop the dependent objects too.',
      sqlState: '2BP01',
    });
  });

  it('reads a message with neither hint nor position', () => {
    expect(
      parseDataApiErrorMessage(
        'ERROR: update or delete on table "song_sheets" violates foreign key constraint "setlist_sheets_song_sheet_id_fkey" on table "setlist_sheets"; SQLState: 23503',
      ),
    ).toEqual({
      message: 'update or delete on table "song_sheets" violates foreign key constraint "setlist_sheets_song_sheet_id_fkey" on table "setlist_sheets"',
      sqlState: '23503',
    });
  });

  it('reads hint and position together, keeping semicolons inside the message', () => {
    expect(
      parseDataApiErrorMessage('ERROR: syntax error at or near ";"; Hint: try again; later; Position: 9; SQLState: 42601'),
    ).toEqual({ message: 'syntax error at or near ";"', hint: 'try again; later', position: 9, sqlState: '42601' });
  });
});

describe('parseDataApiErrorMessage: Serverless v1 (BadRequestException, JDBC newlines)', () => {
  it('reads message and hint; the SQLSTATE is unknown', () => {
    expect(
      parseDataApiErrorMessage(
        'ERROR: column "foreign_id" is of type uuid but expression is of type character varying\n  Hint: You will need to rewrite or cast the expression.\n  Position: 58',
      ),
    ).toEqual({
      message: 'column "foreign_id" is of type uuid but expression is of type character varying',
      hint: 'You will need to rewrite or cast the expression.',
      position: 58,
      sqlState: '',
    });
  });

  it('reads a newline position followed by a SQLState', () => {
    expect(parseDataApiErrorMessage('ERROR: column "nope" does not exist\n  Position: 8; SQLState: 42703')).toEqual({
      message: 'column "nope" does not exist',
      position: 8,
      sqlState: '42703',
    });
  });

  it('is not fooled by text that is not a Postgres error', () => {
    expect(parseDataApiErrorMessage('Transaction is still running a query')).toBeUndefined();
    expect(parseDataApiErrorMessage('Communications link failure')).toBeUndefined();
  });
});

describe('toReelayError', () => {
  const metadata = { $metadata: {} };

  it('turns a DatabaseErrorException into a DatabaseError with the SQLSTATE', () => {
    const error = toReelayError(
      new DatabaseErrorException({ message: 'ERROR: column "x" of relation "t" does not exist; Position: 16; SQLState: 42703', ...metadata }),
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ sqlState: '42703', position: 16, message: 'column "x" of relation "t" does not exist' });
  });

  it('turns a v1 BadRequestException carrying a Postgres error into a DatabaseError', () => {
    const error = toReelayError(new BadRequestException({ message: 'ERROR: relation "t" does not exist\n  Position: 15', ...metadata }));
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ message: 'relation "t" does not exist', position: 15 });
  });

  it('keeps other service errors as DataApiRequestError named after the exception', () => {
    const error = toReelayError(new BadRequestException({ message: 'Database returned more than the allowed response size limit', ...metadata }));
    expect(error).toBeInstanceOf(DataApiRequestError);
    expect(error).toMatchObject({ awsErrorName: 'BadRequestException' });
  });

  it('leaves errors that did not come from the service alone', () => {
    const bug = new TypeError('boom');
    expect(toReelayError(bug)).toBe(bug);
  });
});

describe('classifyDataApiFailure', () => {
  const serviceError = (name: string, message = name) =>
    new RDSDataServiceException({ name, $fault: 'client', message, $metadata: {} });

  it('retries what never ran regardless of idempotency', () => {
    expect(classifyDataApiFailure(serviceError('DatabaseResumingException'))).toEqual({ retry: 'retry-safe', reason: 'resuming' });
    expect(classifyDataApiFailure(serviceError('ThrottlingException'))).toEqual({ retry: 'retry-safe', reason: 'throttled' });
    expect(classifyDataApiFailure(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toEqual({ retry: 'retry-safe', reason: 'unavailable' });
  });

  it('retries failures of unknown outcome only for idempotent statements', () => {
    expect(classifyDataApiFailure(serviceError('StatementTimeoutException'))).toEqual({ retry: 'retry-if-idempotent', reason: 'timeout' });
    expect(classifyDataApiFailure(Object.assign(new Error('socket'), { name: 'TimeoutError' }))).toEqual({ retry: 'retry-if-idempotent', reason: 'timeout' });
    expect(classifyDataApiFailure(serviceError('ServiceUnavailableError'))).toEqual({ retry: 'retry-if-idempotent', reason: 'unavailable' });
    expect(classifyDataApiFailure(serviceError('InternalServerErrorException'))).toEqual({ retry: 'retry-if-idempotent', reason: 'unavailable' });
    expect(classifyDataApiFailure(serviceError('BadRequestException', 'Communications link failure\n\nThe last packet sent successfully…'))).toEqual({
      retry: 'retry-if-idempotent',
      reason: 'unavailable',
    });
  });

  it('never retries a database error or a refused request', () => {
    expect(classifyDataApiFailure(serviceError('DatabaseErrorException', 'ERROR: x; SQLState: 42703'))).toEqual({ retry: 'final' });
    expect(classifyDataApiFailure(serviceError('TransactionNotFoundException'))).toEqual({ retry: 'final' });
    expect(classifyDataApiFailure(serviceError('BadRequestException', 'Multistatement SQL is not supported'))).toEqual({ retry: 'final' });
  });
});
