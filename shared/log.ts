/**
 * Structured JSON logs, one object per line (what CloudWatch Logs Insights and Powertools-style tooling expect).
 * Every line has `level`, `event` (a stable dotted name such as `videodb.create.fallback_basic`), `time`, the
 * logger's persistent keys, and the event's own fields. Secrets never go in fields. During a Lambda invocation every
 * line also has its `requestId`, `coldStart` and `xrayTraceId` (shared/invocation.ts); an error field is written with
 * its own fields, stack and cause chain.
 */
import { invocationLogKeys } from './invocation.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /**
   * Writes `document` (an EMF metric, shared/metrics.ts) as one line whatever the level: a metric must reach
   * CloudWatch at LOG_LEVEL=error too. The line carries the logger's keys and the invocation's, as every line does.
   */
  metric(document: LogFields): void;
  /** A logger that adds `keys` to every line (e.g. the request id). */
  child(keys: LogFields): Logger;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly sink?: LogSink;
  readonly keys?: LogFields;
}

/** Fields of reelay's and its clients' errors worth a line: SQLSTATE and its hint and detail, retryability, codes. */
const errorFields = ['code', 'sqlState', 'hint', 'detail', 'retryable', 'reason', 'status', 'statusCode'] as const;
const maxCauseDepth = 5;

function serialiseError(error: Error, depth = 0): LogFields {
  const fields: LogFields = { name: error.name, message: error.message };
  for (const key of errorFields) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== 'function') fields[key] = value;
  }
  if (error.stack !== undefined) fields.stack = error.stack;
  // The chain of causes (a DatabaseUnavailableError wrapping the SDK's error, …), bounded against cycles.
  const { cause } = error as { cause?: unknown };
  if (cause !== undefined && depth < maxCauseDepth) fields.cause = cause instanceof Error ? serialiseError(cause, depth + 1) : cause;
  return fields;
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return serialiseError(value);
  return value;
}

/**
 * LOG_LEVEL from a function's environment (read once, at its edge); `info` when unset or not a level. Lenient on
 * purpose: a typo in a log level should cost verbosity, not the function.
 */
export function logLevelFrom(env: Readonly<Record<string, string | undefined>>): LogLevel {
  const raw = (env.LOG_LEVEL ?? 'info').toLowerCase();
  return raw in levelOrder ? (raw as LogLevel) : 'info';
}

/** A JSON-lines logger; `info` and up unless `level` says otherwise (callers pass their configuration's level). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = levelOrder[options.level ?? 'info'];
  const sink = options.sink ?? ((line: string) => process.stdout.write(`${line}\n`));
  const keys = options.keys ?? {};
  const line = (level: LogLevel, event: string, fields?: LogFields) =>
    sink(JSON.stringify({ level, event, time: new Date().toISOString(), ...invocationLogKeys(), ...keys, ...fields }, replacer));
  const write = (level: LogLevel, event: string, fields?: LogFields) => {
    if (levelOrder[level] < threshold) return;
    line(level, event, fields);
  };
  return {
    debug: (event, fields) => write('debug', event, fields),
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    metric: (document) => line('info', 'metric', document),
    child: (extra) => createLogger({ level: options.level, sink, keys: { ...keys, ...extra } }),
  };
}

/** Collects lines in memory: for tests that assert on what was logged. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { readonly lines: LogFields[] } {
  const lines: LogFields[] = [];
  const logger = createLogger({ level, sink: (line) => lines.push(JSON.parse(line) as LogFields) });
  return Object.assign(logger, { lines });
}

/** Discards everything. */
// Pure: a bundle that never uses it (the health function's) drops it instead of building it at INIT.
export const silentLogger: Logger = /* @__PURE__ */ createLogger({ level: 'error', sink: () => {} });
