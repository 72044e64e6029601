/**
 * Fault injection for the local Data API: the failures a real cluster produces, on demand, so tests can check how
 * callers cope. Faults are queued and consumed by the next matching calls.
 */

export type DataApiOperation = 'ExecuteStatement' | 'BatchExecuteStatement' | 'BeginTransaction' | 'CommitTransaction' | 'RollbackTransaction';

export const dataApiOperations: readonly DataApiOperation[] = [
  'ExecuteStatement',
  'BatchExecuteStatement',
  'BeginTransaction',
  'CommitTransaction',
  'RollbackTransaction',
];

/**
 * - `resuming`: DatabaseResumingException before anything runs (Serverless v2 waking from 0 ACU);
 * - `throttling`: ThrottlingException (HTTP 429) before anything runs;
 * - `unavailable`: ServiceUnavailableError (HTTP 503) before anything runs;
 * - `statement-timeout`: the statement runs, then the caller gets StatementTimeoutException instead of its result;
 * - `hang`: the statement runs, then the response is held back (for `hangMs`, or until the caller gives up), as when
 *   a call outlives the client's timeout.
 */
export type FaultKind = 'resuming' | 'throttling' | 'unavailable' | 'statement-timeout' | 'hang';

export interface FaultOptions {
  /** Only calls of these operations consume the fault (default: any). */
  readonly operations?: readonly DataApiOperation[];
  /** For `hang`: how long to hold the response (default 120 s; the client normally gives up first). */
  readonly hangMs?: number;
}

interface QueuedFault {
  readonly kind: FaultKind;
  remaining: number;
  readonly options: FaultOptions;
}

export interface PlannedFault {
  readonly kind: FaultKind;
  readonly hangMs: number;
}

export class DataApiFaults {
  /** Added before every call is handled. */
  latencyMs = 0;
  private queue: QueuedFault[] = [];

  /** Makes the next `count` matching calls fail with `kind`. Queued faults are used in the order they were added. */
  failNext(kind: FaultKind, count = 1, options: FaultOptions = {}): void {
    if (count > 0) this.queue.push({ kind, remaining: count, options });
  }

  /** Adds `ms` of latency to every call. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** How many queued failures are still to be consumed. */
  pending(): number {
    return this.queue.reduce((total, fault) => total + fault.remaining, 0);
  }

  clear(): void {
    this.queue = [];
    this.latencyMs = 0;
  }

  /** @internal Takes the fault the call `operation` must suffer, if any. */
  take(operation: DataApiOperation): PlannedFault | undefined {
    const fault = this.queue.find((candidate) => !candidate.options.operations || candidate.options.operations.includes(operation));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.queue = this.queue.filter((candidate) => candidate !== fault);
    return { kind: fault.kind, hangMs: fault.options.hangMs ?? 120_000 };
  }
}

/** Calls received, per operation, and the SQL text of each statement run. */
export class DataApiStats {
  calls: Record<DataApiOperation, number> = DataApiStats.zero();
  statements: string[] = [];
  /**
   * When the last call arrived (null: none yet): the local stand-in for the cluster's capacity metric, served at
   * `GET /_local/activity` (docs/LOCAL.md). Not cleared by `reset()`; a test moves it back to make the database look
   * idle.
   */
  lastCallAt: Date | null = null;

  /** Every call received, whatever its operation. */
  total(): number {
    return Object.values(this.calls).reduce((sum, count) => sum + count, 0);
  }

  reset(): void {
    this.calls = DataApiStats.zero();
    this.statements = [];
  }

  /** @internal */
  record(operation: DataApiOperation, sql?: string): void {
    this.calls[operation] += 1;
    this.lastCallAt = new Date();
    if (sql !== undefined) this.statements.push(sql);
  }

  private static zero(): Record<DataApiOperation, number> {
    return Object.fromEntries(dataApiOperations.map((operation) => [operation, 0])) as Record<DataApiOperation, number>;
  }
}
