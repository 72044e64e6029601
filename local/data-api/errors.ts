/** The errors of the local Data API, in AWS's shapes: error type header, HTTP status and message. */
import type { PlannedFault } from './faults.js';

/** An error as the Data API returns it: HTTP status, error type header and JSON body. */
export class AwsError extends Error {
  constructor(readonly type: string, readonly status: number, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

export const badRequest = (message: string) => new AwsError('BadRequestException', 400, message);

export function transactionNotFound(id: string): AwsError {
  return new AwsError('TransactionNotFoundException', 404, `Transaction ${id} is not found`);
}

export function faultError(fault: PlannedFault): AwsError {
  switch (fault.kind) {
    case 'resuming':
      return new AwsError(
        'DatabaseResumingException',
        400,
        'The Aurora Serverless v2 DB instance was paused. The Data API request automatically resumes the DB instance. Wait a few seconds and try again.',
      );
    case 'throttling':
      return new AwsError('ThrottlingException', 429, 'Rate exceeded');
    case 'unavailable':
      return new AwsError('ServiceUnavailableError', 503, 'Service unavailable');
    case 'statement-timeout':
    case 'hang':
      return new AwsError('StatementTimeoutException', 400, 'Request timed out', { dbConnectionId: 1 });
  }
}

export interface PostgresErrorFields {
  readonly code: string;
  readonly message: string;
  readonly severity?: string;
  readonly hint?: string;
  readonly position?: string | number;
}

export function isPostgresError(error: unknown): error is PostgresErrorFields {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** The DatabaseErrorException message Aurora Serverless v2 / provisioned builds from a Postgres error. */
export function databaseErrorMessage(error: PostgresErrorFields): string {
  const parts = [`${error.severity ?? 'ERROR'}: ${error.message}`];
  if (error.hint) parts.push(`Hint: ${error.hint}`);
  if (error.position) parts.push(`Position: ${error.position}`);
  parts.push(`SQLState: ${error.code}`);
  return parts.join('; ');
}
