/**
 * Capability detection: which of reelay's optional columns and tables the live schema has.
 *
 * Production can run code that is newer than its schema (a deploy before the migration, a migration still running,
 * a rollback). Rather than guessing from error messages, the data layer asks the catalog once, caches the answer per
 * container for a TTL, and builds statements from it. A statement that still hits an undefined column or table
 * (SQLSTATE 42703 / 42P01: the schema changed under us) invalidates the cache and is rebuilt once.
 */
import type { Executor } from './driver.js';
import { isDatabaseError, SqlState } from '../errors.js';
import { muxColumnNames, schemaTableNames, type SchemaTable } from './schema.js';

/** Tables whose presence changes what the data layer does: reelay's own tables (schema.ts). */
export type TrackedTable = SchemaTable;

export interface MuxColumnCheck {
  /** True when every Mux column (schema.ts) is present on `videos`. */
  readonly exist: boolean;
  /** Mux columns the `videos` table lacks, in catalog order. */
  readonly missing: readonly string[];
}

export interface SchemaCapabilities {
  /** Column names per tracked table; a table that does not exist is absent from the map. */
  readonly columns: ReadonlyMap<TrackedTable, ReadonlySet<string>>;
  readonly mux: MuxColumnCheck;
  /** When the catalog was read (ms since epoch). */
  readonly detectedAt: number;
}

/*
 * information_schema shows only the columns of tables the current role holds some privilege on: a database role
 * (0004) sees the tables it may use, which is exactly what the data layer may build statements for.
 */
const catalogQuery = `
  SELECT table_name, column_name
    FROM information_schema.columns
   WHERE table_schema = current_schema()
     AND table_name IN (${schemaTableNames.map((name) => `'${name}'`).join(', ')})`;

/** Reads the catalog once and answers every capability question from that one result. */
export async function detectCapabilities(executor: Executor, now: () => number = Date.now): Promise<SchemaCapabilities> {
  const { rows } = await executor.execute<{ table_name: string; column_name: string }>(catalogQuery);
  const columns = new Map<TrackedTable, Set<string>>();
  for (const { table_name, column_name } of rows) {
    const table = table_name as TrackedTable;
    const set = columns.get(table) ?? new Set<string>();
    set.add(column_name);
    columns.set(table, set);
  }
  const videoColumns = columns.get('videos') ?? new Set<string>();
  const missing = muxColumnNames.filter((name) => !videoColumns.has(name));
  return { columns, mux: { exist: missing.length === 0, missing }, detectedAt: now() };
}

/** `{ exist, missing }` for the Mux columns, from one catalog query (uncached: for status endpoints and tools). */
export async function checkMuxColumnsExist(executor: Executor): Promise<MuxColumnCheck> {
  return (await detectCapabilities(executor)).mux;
}

/**
 * Every Mux column and every one of reelay's tables is there: the schema is the latest this code knows. Anything less
 * (a migration not applied yet, or one applied since) is re-read after the short incomplete TTL.
 */
export function isCompleteSchema(capabilities: SchemaCapabilities): boolean {
  return capabilities.mux.exist && schemaTableNames.every((table) => capabilities.columns.has(table));
}

export function hasColumn(capabilities: SchemaCapabilities, table: TrackedTable, column: string): boolean {
  return capabilities.columns.get(table)?.has(column) ?? false;
}

export function hasTable(capabilities: SchemaCapabilities, table: TrackedTable): boolean {
  return capabilities.columns.has(table);
}

export interface CapabilityCacheOptions {
  /** How long a detection of a complete schema stays fresh. Default 60 s. */
  readonly ttlMs?: number;
  /**
   * How long a detection that found columns or tables missing stays fresh. Default 5 s: while a schema is behind, a
   * migration is expected soon, and every write in the meantime has to defer fields (or, without the events outbox,
   * publish its event unrecorded), so it is worth noticing quickly; one catalog query per container every few
   * seconds is negligible.
   */
  readonly incompleteTtlMs?: number;
  readonly now?: () => number;
}

/**
 * Per-container cache of {@link SchemaCapabilities}. Concurrent callers share one in-flight detection, so a burst
 * of cold requests costs one catalog query, and a warm request costs none.
 */
export class CapabilityCache {
  readonly #executor: Executor;
  readonly #ttlMs: number;
  readonly #incompleteTtlMs: number;
  readonly #now: () => number;
  #current: SchemaCapabilities | undefined;
  #inFlight: Promise<SchemaCapabilities> | undefined;

  constructor(executor: Executor, options: CapabilityCacheOptions = {}) {
    this.#executor = executor;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#incompleteTtlMs = Math.min(options.incompleteTtlMs ?? 5_000, this.#ttlMs);
    this.#now = options.now ?? Date.now;
  }

  async get(): Promise<SchemaCapabilities> {
    const current = this.#current;
    if (current !== undefined && this.#now() - current.detectedAt < (isCompleteSchema(current) ? this.#ttlMs : this.#incompleteTtlMs)) {
      return current;
    }
    this.#inFlight ??= detectCapabilities(this.#executor, this.#now).then(
      (detected) => {
        this.#current = detected;
        this.#inFlight = undefined;
        return detected;
      },
      (error: unknown) => {
        this.#inFlight = undefined;
        throw error;
      },
    );
    return this.#inFlight;
  }

  /** Forget what was detected: the next {@link get} reads the catalog again. */
  invalidate(): void {
    this.#current = undefined;
  }

  /**
   * Runs `work` with the current capabilities. If the schema changed under it (undefined column or table), the cache
   * is refreshed and `work` runs once more with the new answer. Any other error, or a second schema error, is thrown.
   */
  async withCapabilities<T>(work: (capabilities: SchemaCapabilities) => Promise<T>): Promise<T> {
    const first = await this.get();
    try {
      return await work(first);
    } catch (error) {
      if (!isDatabaseError(error, SqlState.undefinedColumn, SqlState.undefinedTable)) throw error;
      this.invalidate();
      return work(await this.get());
    }
  }
}
