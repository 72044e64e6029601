/**
 * A local RDS Data API: an HTTP server speaking the restJson1 protocol exactly as @aws-sdk/client-rds-data sends and
 * reads it (POST /Execute, /BatchExecute, /BeginTransaction, /CommitTransaction, /RollbackTransaction), backed by
 * PGlite or a PostgreSQL URL, so the unchanged DataApiDriver runs against it locally and in tests.
 *
 * Fidelity is its reason to exist. Errors carry AWS's `x-amzn-errortype` and message shapes: a Postgres error is a
 * DatabaseErrorException `ERROR: …; Hint: …; Position: N; SQLState: XXXXX` built from the real error fields; an
 * unknown or finished transaction is TransactionNotFoundException; a statement whose transaction errs ends that
 * transaction (as the Data API does); a second call on a busy transaction is refused; responses over 1 MiB are
 * refused; transactions expire after 3 minutes without a call.
 *
 * With PGlite (one connection) an open transaction holds the database: other calls wait until it commits, rolls
 * back or expires.
 *
 * Database roles: AWS logs in as the user of the call's `secretArn`. Here `secretRoles` maps secret ARNs to roles,
 * and every call made with a mapped ARN runs inside a transaction that starts with `SET LOCAL ROLE <role>` (a
 * Data API transaction: from its BeginTransaction on), so PostgreSQL checks that role's privileges exactly as it
 * would for a login as it. An ARN that is not mapped runs as the endpoint's own user, the master.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOn } from '../listen.js';
import { hasMultipleStatements, toPositional } from '../../shared/db/named-params.js';
import { silentLogger, type Logger } from '../../shared/log.js';
import { openBackend, type Backend, type BackendConfig, type PinnedSession, type Queryable, type RawResult } from './backend.js';
import { AwsError, badRequest, databaseErrorMessage, faultError, isPostgresError, transactionNotFound } from './errors.js';
import { DataApiFaults, DataApiStats, type DataApiOperation } from './faults.js';
import {
  bindParameter,
  columnMetadata,
  ParameterError,
  resolveColumnTypes,
  stringifyWire,
  toField,
  toJsonValue,
  type ResultOptions,
  type SqlParameterInput,
} from './wire.js';

export { DataApiFaults, DataApiStats, type DataApiOperation, type FaultKind, type FaultOptions } from './faults.js';
export type { BackendConfig } from './backend.js';

export interface LocalDataApiOptions {
  readonly backend: BackendConfig;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  readonly logger?: Logger;
  /** A transaction with no call for this long is rolled back and forgotten. Default 3 minutes, as on AWS. */
  readonly transactionIdleMs?: number;
  /** Default 1 MiB, as on AWS. */
  readonly maxResponseBytes?: number;
  /** Secret ARN → the database role its calls run as (SET LOCAL ROLE). ARNs not listed run as the endpoint's user. */
  readonly secretRoles?: Readonly<Record<string, string>>;
}

export interface LocalDataApi {
  /** `http://host:port`, for RDSDataClient's `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  readonly faults: DataApiFaults;
  readonly stats: DataApiStats;
  /** Rolls back open transactions, drops connections and stops listening. */
  close(): Promise<void>;
}

/** The record of the last call (reconcile's DATABASE_ACTIVITY_URL locally; shared/runtime/database-activity.ts). */
export const activityPath = '/_local/activity';

const oneMiB = 1024 * 1024;
const threeMinutes = 3 * 60 * 1000;

const routes: Record<string, DataApiOperation> = {
  '/Execute': 'ExecuteStatement',
  '/BatchExecute': 'BatchExecuteStatement',
  '/BeginTransaction': 'BeginTransaction',
  '/CommitTransaction': 'CommitTransaction',
  '/RollbackTransaction': 'RollbackTransaction',
};

interface RequestBody {
  readonly secretArn?: string;
  readonly sql?: string;
  readonly parameters?: readonly SqlParameterInput[];
  readonly parameterSets?: ReadonlyArray<readonly SqlParameterInput[]>;
  readonly transactionId?: string;
  readonly includeResultMetadata?: boolean;
  readonly formatRecordsAs?: string;
  readonly resultSetOptions?: { readonly longReturnType?: string; readonly decimalReturnType?: string };
}

interface PreparedStatement {
  readonly text: string;
  readonly names: readonly string[];
}

function prepare(sql: string | undefined): PreparedStatement {
  if (!sql || !sql.trim()) throw badRequest('SQL statement is required');
  if (hasMultipleStatements(sql)) throw badRequest('Multistatement SQL is not supported');
  return toPositional(sql);
}

function bind(statement: PreparedStatement, parameters: readonly SqlParameterInput[] = []): { values: Array<string | null>; types: number[] } {
  const byName = new Map(parameters.map((parameter) => [parameter.name, parameter]));
  const values: Array<string | null> = [];
  const types: number[] = [];
  for (const name of statement.names) {
    const parameter = byName.get(name);
    if (!parameter) throw badRequest(`No value specified for parameter: ${name}`);
    const bound = bindParameter(parameter);
    values.push(bound.text);
    types.push(bound.type);
  }
  return { values, types };
}

interface OpenTransaction {
  readonly id: string;
  readonly session: PinnedSession;
  busy: boolean;
  expiry?: NodeJS.Timeout;
}

const modifyingCommands = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

export async function startLocalDataApi(options: LocalDataApiOptions): Promise<LocalDataApi> {
  const backend: Backend = openBackend(options.backend);
  const logger = options.logger ?? silentLogger;
  const idleMs = options.transactionIdleMs ?? threeMinutes;
  const maxResponseBytes = options.maxResponseBytes ?? oneMiB;
  const faults = new DataApiFaults();
  const stats = new DataApiStats();
  const transactions = new Map<string, OpenTransaction>();
  const heldResponses = new Set<() => void>();
  const secretRoles = new Map(Object.entries(options.secretRoles ?? {}));

  /** A transaction of the backend, running as the role the call's secret maps to (if any). */
  const beginAs = async (body: RequestBody): Promise<PinnedSession> => {
    const session = await backend.begin();
    const role = body.secretArn === undefined ? undefined : secretRoles.get(body.secretArn);
    if (role === undefined) return session;
    try {
      await session.query(`SET LOCAL ROLE ${quoteIdentifier(role)}`, [], []);
    } catch (error) {
      await session.rollback().catch(() => undefined);
      throw error;
    }
    return session;
  };

  /** Runs autocommit work: straight on the backend, or as one transaction of the call's role. */
  const autocommit = async <T>(body: RequestBody, work: (target: Queryable) => Promise<T>): Promise<T> => {
    if (body.secretArn === undefined || !secretRoles.has(body.secretArn)) return work(backend);
    return inOwnTransaction(body, work);
  };

  const inOwnTransaction = async <T>(body: RequestBody, work: (target: Queryable) => Promise<T>): Promise<T> => {
    const own = await beginAs(body);
    try {
      const result = await work(own);
      await own.commit();
      return result;
    } catch (error) {
      await own.rollback().catch(() => undefined);
      throw error;
    }
  };

  const forget = async (transaction: OpenTransaction, end: 'commit' | 'rollback') => {
    clearTimeout(transaction.expiry);
    transactions.delete(transaction.id);
    await transaction.session[end]();
  };

  const armExpiry = (transaction: OpenTransaction) => {
    clearTimeout(transaction.expiry);
    transaction.expiry = setTimeout(() => {
      logger.info('dataapi.local.transaction_expired', { transactionId: transaction.id });
      forget(transaction, 'rollback').catch((error: unknown) => logger.warn('dataapi.local.rollback_failed', { error }));
    }, idleMs);
    transaction.expiry.unref();
  };

  /** Runs `work` on an open transaction, one call at a time; a Postgres error ends the transaction. */
  const inTransaction = async <T>(id: string, work: (session: Queryable) => Promise<T>): Promise<T> => {
    const transaction = transactions.get(id);
    if (!transaction) throw transactionNotFound(id);
    if (transaction.busy) throw new AwsError('DatabaseErrorException', 400, 'Transaction is still running a query');
    transaction.busy = true;
    clearTimeout(transaction.expiry);
    try {
      return await work(transaction.session);
    } catch (error) {
      if (isPostgresError(error)) await forget(transaction, 'rollback').catch(() => undefined);
      throw error;
    } finally {
      transaction.busy = false;
      if (transactions.has(id)) armExpiry(transaction);
    }
  };

  const resultOptions = (body: RequestBody): ResultOptions => ({
    longAsString: body.resultSetOptions?.longReturnType === 'STRING',
    decimalAsNumber: body.resultSetOptions?.decimalReturnType === 'DOUBLE_OR_LONG',
  });

  const executeResponse = async (raw: RawResult, body: RequestBody): Promise<Record<string, unknown>> => {
    const response: Record<string, unknown> = {
      numberOfRecordsUpdated: modifyingCommands.has(raw.command) ? raw.rowCount : 0,
    };
    if (modifyingCommands.has(raw.command)) response.generatedFields = [];
    if (raw.fields.length === 0) return response;
    const columns = await resolveColumnTypes(backend, raw.fields);
    const format = resultOptions(body);
    if (body.formatRecordsAs === 'JSON') {
      // JSON-formatted results carry no column metadata.
      const objects = raw.rows.map((row) =>
        Object.fromEntries(raw.fields.map((field, index) => [field.name, toJsonValue(row[index] ?? null, columns[index]!, format)])),
      );
      response.formattedRecords = stringifyWire(objects);
      return response;
    }
    response.records = raw.rows.map((row) => row.map((text, index) => toField(text, columns[index]!, format)));
    if (body.includeResultMetadata) response.columnMetadata = raw.fields.map((field, index) => columnMetadata(field, columns[index]!));
    return response;
  };

  /** `session` is the open transaction's connection when the call names one, else undefined (autocommit). */
  const handlers: Record<DataApiOperation, (body: RequestBody, session?: Queryable) => Promise<Record<string, unknown>>> = {
    ExecuteStatement: async (body, session) => {
      const statement = prepare(body.sql);
      const { values, types } = bind(statement, body.parameters);
      const run = (target: Queryable) => target.query(statement.text, values, types);
      // The response is built after an own transaction has ended: PGlite's one connection is free again.
      const raw = session ? await run(session) : await autocommit(body, run);
      return executeResponse(raw, body);
    },
    BatchExecuteStatement: async (body, session) => {
      const statement = prepare(body.sql);
      const sets = (body.parameterSets ?? []).map((set) => bind(statement, set));
      const runAll = async (target: Queryable) => {
        for (const { values, types } of sets) await target.query(statement.text, values, types);
        return { updateResults: sets.map(() => ({ generatedFields: [] })) };
      };
      if (session) return runAll(session);
      // Outside a transaction the batch commits as one unit.
      return inOwnTransaction(body, runAll);
    },
    BeginTransaction: async (body) => {
      const opened = await beginAs(body);
      const transaction: OpenTransaction = { id: randomBytes(96).toString('base64'), session: opened, busy: false };
      transactions.set(transaction.id, transaction);
      armExpiry(transaction);
      return { transactionId: transaction.id };
    },
    CommitTransaction: async (body) => endTransaction(body, 'commit'),
    RollbackTransaction: async (body) => endTransaction(body, 'rollback'),
  };

  const endTransaction = async (body: RequestBody, end: 'commit' | 'rollback') => {
    const id = body.transactionId ?? '';
    const transaction = transactions.get(id);
    if (!transaction) throw transactionNotFound(id);
    if (transaction.busy) throw new AwsError('DatabaseErrorException', 400, 'Transaction is still running a query');
    await forget(transaction, end);
    return { transactionStatus: end === 'commit' ? 'Transaction Committed' : 'Rollback Complete' };
  };

  const send = (response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    if (response.writableEnded || response.destroyed) return;
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': randomUUID(),
      ...headers,
    });
    response.end(body);
  };

  const sendError = (response: ServerResponse, error: AwsError) => {
    send(response, error.status, JSON.stringify({ message: error.message, ...error.extra }), {
      'x-amzn-errortype': `${error.type}:http://internal.amazon.com/coral/com.amazonaws.rdsdataservice/`,
    });
  };

  /** Holds a response back until `ms` pass, the caller hangs up, or the server closes. */
  const holdResponse = (request: IncomingMessage, ms: number) =>
    new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        heldResponses.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      request.socket.once('close', release);
      heldResponses.add(release);
    });

  const toAwsError = (error: unknown): AwsError => {
    if (error instanceof AwsError) return error;
    if (error instanceof ParameterError) return new AwsError(error.awsErrorName, 400, error.message);
    if (isPostgresError(error)) return new AwsError('DatabaseErrorException', 400, databaseErrorMessage(error));
    logger.error('dataapi.local.internal_error', { error });
    return new AwsError('InternalServerErrorException', 500, 'Internal server error');
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (request.method === 'GET' && path === activityPath) {
      // Not a Data API call, and not counted as one: it stands in for CloudWatch's view of the cluster.
      request.resume();
      send(response, 200, JSON.stringify({ lastCallAt: stats.lastCallAt?.toISOString() ?? null, calls: stats.total() }));
      return;
    }
    const operation = request.method === 'POST' ? routes[path] : undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (!operation) {
      sendError(response, new AwsError('UnknownOperationException', 404, `No Data API operation at ${request.method} ${path}`));
      return;
    }
    let body: RequestBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as RequestBody;
    } catch {
      sendError(response, new AwsError('SerializationException', 400, 'Request body is not valid JSON'));
      return;
    }
    stats.record(operation, body.sql);
    const started = Date.now();
    // Latency and faults happen inside the call: a transaction is busy from the moment its call arrives.
    const runCall = async (session?: Queryable) => {
      if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
      const fault = faults.take(operation);
      if (fault && fault.kind !== 'statement-timeout' && fault.kind !== 'hang') throw faultError(fault);
      const result = await handlers[operation](body, session);
      if (fault?.kind === 'hang') await holdResponse(request, fault.hangMs);
      if (fault) throw faultError(fault);
      return result;
    };
    try {
      const statementCall = operation === 'ExecuteStatement' || operation === 'BatchExecuteStatement';
      const result = statementCall && body.transactionId ? await inTransaction(body.transactionId, runCall) : await runCall();
      const json = stringifyWire(result);
      if (Buffer.byteLength(json) > maxResponseBytes) throw badRequest('Database returned more than the allowed response size limit');
      send(response, 200, json);
      logger.debug('dataapi.local.call', { operation, status: 200, ms: Date.now() - started });
    } catch (error) {
      const awsError = toAwsError(error);
      sendError(response, awsError);
      logger.debug('dataapi.local.call', { operation, status: awsError.status, errorType: awsError.type, ms: Date.now() - started });
    }
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error('dataapi.local.unhandled', { error });
      sendError(response, new AwsError('InternalServerErrorException', 500, 'Internal server error'));
    });
  });
  const { origin: endpoint, port: listeningPort } = await listenOn(server, options.port ?? 0, options.host ?? '127.0.0.1');
  logger.info('dataapi.local.started', { endpoint, backend: options.backend.kind });

  return {
    endpoint,
    port: listeningPort,
    faults,
    stats,
    close: async () => {
      for (const release of [...heldResponses]) release();
      for (const transaction of [...transactions.values()]) await forget(transaction, 'rollback').catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend.close();
    },
  };
}
