/**
 * The migrations engine: a `schema_migrations` ledger, a lease so that concurrent runners apply each migration once,
 * and DDL that never blocks uploads for long.
 *
 * Why a lease row and not an advisory lock: a session-level `pg_advisory_lock` is tied to a connection, and the Data
 * API gives no connection affinity between calls, so the lock could be taken on one backend and "released" on another
 * (or leak). `pg_advisory_xact_lock` is safe but lives only as long as one transaction, and a migration cannot be one
 * transaction: CREATE INDEX CONCURRENTLY must run outside any transaction, and holding a transaction open across a
 * long build would also hit the Data API's transaction limits. So the runner holds a row in `schema_migrations_lock`
 * (owner, expires_at on the database's clock), acquired by one atomic INSERT … ON CONFLICT DO UPDATE … WHERE expired,
 * renewed on a timer while it works, deleted at the end. A runner that dies leaves a lease that simply expires.
 * The ledger insert is fenced by the lease (it only lands while this runner still holds it), so a runner that lost
 * its lease cannot record a migration another runner is applying. The one place a transaction-scoped advisory lock is
 * used is the bootstrap of the two tables themselves, which fits in a single transaction.
 *
 * Steps are idempotent (IF NOT EXISTS), so "apply" means: run every step, then record the ledger row. A runner
 * killed between the two leaves work that the next runner repeats harmlessly.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Driver, Executor } from '../db/driver.js';
import { DatabaseUnavailableError, isDatabaseError, MigrationError, SqlState } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { migrations as defaultMigrations } from './index.js';
import {
  migrationChecksum,
  stepStatements,
  validateMigrations,
  type ConcurrentIndexStep,
  type Migration,
  type Step,
  type TransactionStep,
} from './migration.js';

export interface LockTimeoutOptions {
  /** `SET LOCAL lock_timeout` for every DDL transaction, in ms. Default 2000. */
  readonly ms?: number;
  /** Attempts per DDL step when the lock is not granted in time (55P03) or a deadlock is detected. Default 30. */
  readonly attempts?: number;
  /** Backoff between attempts: doubles from `baseDelayMs` up to `maxDelayMs`, with jitter. Defaults 100 / 5000. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface LeaseOptions {
  /** How long a lease lives without renewal; it is renewed every ttl/3 while the runner works. Default 60 s. */
  readonly ttlMs?: number;
  /** A label for logs and for `schema_migrations_lock.owner` (a unique suffix is added per run). Default host:pid. */
  readonly owner?: string;
  /** How long to wait for another runner's lease before giving up. Default 15 min. */
  readonly waitMs?: number;
}

export interface IndexPollOptions {
  /** First delay between validity checks of a concurrent index build; grows to 5 s. Default 100 ms. */
  readonly intervalMs?: number;
  /** Give up waiting for one build after this long. Default 2 h. */
  readonly timeoutMs?: number;
}

export interface MigratorOptions {
  readonly driver: Driver;
  readonly migrations?: readonly Migration[];
  readonly logger?: Logger;
  readonly lockTimeout?: LockTimeoutOptions;
  readonly lease?: LeaseOptions;
  readonly indexPoll?: IndexPollOptions;
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: Date;
  readonly durationMs: number;
}

export interface PendingMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
}

/** An applied migration whose file no longer matches what was applied. */
export interface MigrationDrift {
  readonly version: number;
  readonly name: string;
  readonly appliedChecksum: string;
  readonly fileChecksum: string;
}

export interface InvalidIndex {
  readonly name: string;
  readonly table: string;
  /** A concurrent build of it is running right now (invalid because unfinished, not because it failed). */
  readonly building: boolean;
}

export interface MigrationStatus {
  /** Highest applied version; 0 on an empty database. */
  readonly currentVersion: number;
  readonly latestVersion: number;
  readonly applied: readonly AppliedMigration[];
  readonly pending: readonly PendingMigration[];
  readonly drift: readonly MigrationDrift[];
  /** Versions in the ledger that this code does not know (the database is newer than the code). */
  readonly unknownApplied: readonly number[];
  /** Every INVALID index in the schema (pg_index.indisvalid = false). */
  readonly invalidIndexes: readonly InvalidIndex[];
}

export type PlannedStep =
  | { readonly kind: 'transaction'; readonly statements: readonly string[] }
  | { readonly kind: 'concurrent-index'; readonly index: string; readonly sql: string };

export interface MigrationPlan {
  readonly currentVersion: number;
  readonly targetVersion: number;
  /** Non-empty means `up()` will refuse to run. */
  readonly drift: readonly MigrationDrift[];
  /** INVALID indexes of applied migrations that `up()` will drop and rebuild. */
  readonly repairs: readonly string[];
  readonly migrations: ReadonlyArray<PendingMigration & { readonly steps: readonly PlannedStep[] }>;
}

export interface UpResult {
  readonly applied: ReadonlyArray<{ readonly version: number; readonly name: string; readonly durationMs: number }>;
  /** Indexes of already-applied migrations that were found INVALID and rebuilt. */
  readonly repaired: readonly string[];
  readonly currentVersion: number;
}

export interface Migrator {
  status(): Promise<MigrationStatus>;
  plan(options?: { to?: number }): Promise<MigrationPlan>;
  up(options?: { to?: number }): Promise<UpResult>;
}

const ledgerStatements = [
  `CREATE TABLE IF NOT EXISTS schema_migrations (
     version     integer PRIMARY KEY,
     name        text NOT NULL,
     checksum    text NOT NULL,
     applied_at  timestamptz NOT NULL DEFAULT now(),
     duration_ms integer NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS schema_migrations_lock (
     id         integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
     owner      text NOT NULL,
     expires_at timestamptz NOT NULL
   )`,
];

// Only an expired lease can be taken over; the database's clock decides, so runners' clocks need not agree.
const acquireLeaseSql = `
  INSERT INTO schema_migrations_lock AS held (id, owner, expires_at)
  VALUES (1, :owner, clock_timestamp() + make_interval(secs => :ttlSeconds))
  ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
  WHERE held.expires_at <= clock_timestamp()
  RETURNING owner`;

const renewLeaseSql = `
  UPDATE schema_migrations_lock SET expires_at = clock_timestamp() + make_interval(secs => :ttlSeconds)
  WHERE id = 1 AND owner = :owner AND expires_at > clock_timestamp()
  RETURNING owner`;

const recordMigrationSql = `
  INSERT INTO schema_migrations (version, name, checksum, duration_ms)
  SELECT :version, :name, :checksum, :durationMs
  WHERE EXISTS (SELECT 1 FROM schema_migrations_lock WHERE id = 1 AND owner = :owner AND expires_at > clock_timestamp())
  ON CONFLICT (version) DO NOTHING`;

const buildingCondition = `EXISTS (
  SELECT 1 FROM pg_stat_progress_create_index progress
  WHERE progress.index_relid = c.oid AND progress.datid = (SELECT oid FROM pg_database WHERE datname = current_database()))`;

const indexCatalog = `
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema()`;

const invalidIndexesSql = `
  SELECT c.relname AS name, t.relname AS table_name, ${buildingCondition} AS building
  ${indexCatalog} AND NOT i.indisvalid
  ORDER BY c.relname`;

const indexStateSql = `SELECT i.indisvalid AS valid, ${buildingCondition} AS building ${indexCatalog} AND c.relname = :name`;

type IndexState = 'valid' | 'building' | 'invalid' | 'missing';

interface LedgerRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
  duration_ms: number;
}

interface DatabaseState {
  readonly ledger: readonly LedgerRow[];
  readonly invalidIndexes: readonly InvalidIndex[];
}

interface Analysis {
  readonly status: MigrationStatus;
  readonly toApply: readonly Migration[];
  readonly repairs: readonly { readonly migration: Migration; readonly step: ConcurrentIndexStep }[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with jitter (half fixed, half random), so racing runners spread out. */
function backoff(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

function describe(migration: Migration): string {
  return `migration ${migration.version} (${migration.name})`;
}

function isCallTimeout(error: unknown): boolean {
  return error instanceof DatabaseUnavailableError && error.reason === 'timeout';
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new MigrationError(`${what} must be a positive integer, got ${value}`);
  return value;
}

async function readLedger(executor: Executor): Promise<LedgerRow[]> {
  try {
    const { rows } = await executor.execute<LedgerRow>(
      'SELECT version, name, checksum, applied_at, duration_ms FROM schema_migrations ORDER BY version',
    );
    return rows;
  } catch (error) {
    // No ledger yet: a database nothing was ever applied to.
    if (isDatabaseError(error, SqlState.undefinedTable)) return [];
    throw error;
  }
}

async function readInvalidIndexes(executor: Executor): Promise<InvalidIndex[]> {
  const { rows } = await executor.execute<{ name: string; table_name: string; building: boolean }>(invalidIndexesSql);
  return rows.map((row) => ({ name: row.name, table: row.table_name, building: row.building }));
}

/** One run of `up()` holding the lease: renews it on a timer and fences every write with it. */
class Lease {
  #timer: NodeJS.Timeout | undefined;
  #lost = false;
  #released = false;

  private constructor(
    private readonly driver: Driver,
    private readonly logger: Logger,
    readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  static async acquire(driver: Driver, logger: Logger, label: string, ttlMs: number, waitMs: number): Promise<Lease> {
    const owner = `${label}/${randomUUID()}`;
    const deadline = Date.now() + waitMs;
    for (let attempt = 1; ; attempt += 1) {
      const { rows } = await driver.execute(acquireLeaseSql, { owner, ttlSeconds: ttlMs / 1000 });
      if (rows.length === 1) {
        logger.info('migrate.lock.acquired', { owner, attempts: attempt });
        const lease = new Lease(driver, logger, owner, ttlMs);
        lease.#startRenewing();
        return lease;
      }
      const remaining = deadline - Date.now();
      if (attempt === 1 || remaining <= 0) {
        const { rows: holders } = await driver.execute<{ owner: string; expires_at: Date }>(
          'SELECT owner, expires_at FROM schema_migrations_lock WHERE id = 1',
        );
        const holder = holders[0];
        if (remaining <= 0) {
          throw new MigrationError(
            `timed out after ${waitMs} ms waiting for the migration lease held by ${holder?.owner ?? 'another runner'}` +
              ` (expires ${holder?.expires_at.toISOString() ?? 'soon'})`,
          );
        }
        logger.info('migrate.lock.wait', { owner, holder: holder?.owner, expiresAt: holder?.expires_at });
      }
      await sleep(Math.min(remaining, backoff(attempt, 50, 2000)));
    }
  }

  #startRenewing(): void {
    this.#timer = setInterval(() => void this.#renew(), Math.max(1, Math.floor(this.ttlMs / 3)));
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    if (this.#lost || this.#released) return;
    try {
      const { rows } = await this.driver.execute(renewLeaseSql, { owner: this.owner, ttlSeconds: this.ttlMs / 1000 });
      // A renewal that was in flight while release() deleted the row has not lost anything.
      if (rows.length === 0 && !this.#released) {
        this.#lost = true;
        this.logger.error('migrate.lock.lost', { owner: this.owner });
      }
    } catch (error) {
      // A failed renewal is not a lost lease: the next tick tries again, and the fence catches a real loss.
      this.logger.warn('migrate.lock.renew_failed', { owner: this.owner, error });
    }
  }

  /** Throws when a renewal found the lease gone (it expired and another runner took it). */
  assertHeld(): void {
    if (this.#lost) throw new MigrationError(`migration lease ${this.owner} was lost (expired and taken over); stopping`);
  }

  async release(): Promise<void> {
    this.#released = true;
    clearInterval(this.#timer);
    try {
      await this.driver.execute('DELETE FROM schema_migrations_lock WHERE id = 1 AND owner = :owner', { owner: this.owner });
      this.logger.info('migrate.lock.released', { owner: this.owner });
    } catch (error) {
      // Left to expire on its own; the caller's own error (if any) matters more.
      this.logger.warn('migrate.lock.release_failed', { owner: this.owner, error });
    }
  }
}

class Engine implements Migrator {
  readonly #driver: Driver;
  readonly #migrations: readonly Migration[];
  readonly #checksums: ReadonlyMap<number, string>;
  readonly #logger: Logger;
  readonly #lockTimeoutMs: number;
  readonly #lockAttempts: number;
  readonly #lockBaseDelayMs: number;
  readonly #lockMaxDelayMs: number;
  readonly #leaseTtlMs: number;
  readonly #leaseWaitMs: number;
  readonly #leaseLabel: string;
  readonly #pollIntervalMs: number;
  readonly #pollTimeoutMs: number;

  constructor(options: MigratorOptions) {
    this.#driver = options.driver;
    this.#migrations = options.migrations ?? defaultMigrations;
    validateMigrations(this.#migrations);
    this.#checksums = new Map(this.#migrations.map((migration) => [migration.version, migrationChecksum(migration)]));
    this.#logger = options.logger ?? createLogger();
    this.#lockTimeoutMs = positiveInteger(options.lockTimeout?.ms ?? 2000, 'lockTimeout.ms');
    this.#lockAttempts = positiveInteger(options.lockTimeout?.attempts ?? 30, 'lockTimeout.attempts');
    this.#lockBaseDelayMs = options.lockTimeout?.baseDelayMs ?? 100;
    this.#lockMaxDelayMs = options.lockTimeout?.maxDelayMs ?? 5000;
    this.#leaseTtlMs = positiveInteger(options.lease?.ttlMs ?? 60_000, 'lease.ttlMs');
    this.#leaseWaitMs = options.lease?.waitMs ?? 15 * 60_000;
    this.#leaseLabel = options.lease?.owner ?? `${hostname()}:${process.pid}`;
    this.#pollIntervalMs = options.indexPoll?.intervalMs ?? 100;
    this.#pollTimeoutMs = options.indexPoll?.timeoutMs ?? 2 * 60 * 60_000;
  }

  async status(): Promise<MigrationStatus> {
    return this.#analyse(await this.#readState()).status;
  }

  async plan(options: { to?: number } = {}): Promise<MigrationPlan> {
    const { status, toApply, repairs } = this.#analyse(await this.#readState(), options.to);
    return {
      currentVersion: status.currentVersion,
      targetVersion: toApply.at(-1)?.version ?? status.currentVersion,
      drift: status.drift,
      repairs: repairs.map(({ step }) => step.index),
      migrations: toApply.map((migration) => ({
        ...this.#pending(migration),
        steps: migration.steps.map((step): PlannedStep =>
          step.kind === 'transaction'
            ? { kind: 'transaction', statements: [`SET LOCAL lock_timeout = '${this.#lockTimeoutMs}ms'`, ...step.statements] }
            : { kind: 'concurrent-index', index: step.index, sql: step.sql },
        ),
      })),
    };
  }

  async up(options: { to?: number } = {}): Promise<UpResult> {
    // Cheap first look without the lease: a warm, up-to-date database costs two reads and no writes.
    const first = this.#analyse(await this.#readState(), options.to);
    this.#refuseDrift(first.status.drift);
    if (first.toApply.length === 0 && first.repairs.length === 0) {
      this.#logger.debug('migrate.up.nothing_to_do', { currentVersion: first.status.currentVersion });
      return { applied: [], repaired: [], currentVersion: first.status.currentVersion };
    }

    await this.#bootstrapLedger();
    const lease = await Lease.acquire(this.#driver, this.#logger, this.#leaseLabel, this.#leaseTtlMs, this.#leaseWaitMs);
    try {
      // Another runner may have done the work while this one waited: decide again from what is there now.
      const { status, toApply, repairs } = this.#analyse(await this.#readState(), options.to);
      this.#refuseDrift(status.drift);
      const repaired: string[] = [];
      for (const { migration, step } of repairs) {
        await this.#runStep(migration, step, lease);
        repaired.push(step.index);
      }
      const applied: Array<{ version: number; name: string; durationMs: number }> = [];
      for (const migration of toApply) applied.push(await this.#apply(migration, lease));
      const currentVersion = Math.max(status.currentVersion, applied.at(-1)?.version ?? 0);
      this.#logger.info('migrate.up.ok', { currentVersion, applied: applied.map((m) => m.version), repaired });
      return { applied, repaired, currentVersion };
    } finally {
      await lease.release();
    }
  }

  #pending(migration: Migration): PendingMigration {
    return { version: migration.version, name: migration.name, checksum: this.#checksum(migration) };
  }

  #checksum(migration: Migration): string {
    return this.#checksums.get(migration.version) as string;
  }

  async #readState(): Promise<DatabaseState> {
    const ledger = await readLedger(this.#driver);
    const invalidIndexes = await readInvalidIndexes(this.#driver);
    return { ledger, invalidIndexes };
  }

  #analyse(state: DatabaseState, to?: number): Analysis {
    const byVersion = new Map(state.ledger.map((row) => [row.version, row]));
    const known = new Set(this.#migrations.map((migration) => migration.version));
    const applied = state.ledger.map(
      (row): AppliedMigration => ({
        version: row.version,
        name: row.name,
        checksum: row.checksum,
        appliedAt: row.applied_at,
        durationMs: row.duration_ms,
      }),
    );
    const drift: MigrationDrift[] = [];
    const pendingMigrations: Migration[] = [];
    const repairs: Array<{ migration: Migration; step: ConcurrentIndexStep }> = [];
    const invalid = new Set(state.invalidIndexes.map((index) => index.name));
    for (const migration of this.#migrations) {
      const row = byVersion.get(migration.version);
      if (row === undefined) {
        pendingMigrations.push(migration);
        continue;
      }
      const fileChecksum = this.#checksum(migration);
      if (row.checksum !== fileChecksum) {
        drift.push({ version: migration.version, name: migration.name, appliedChecksum: row.checksum, fileChecksum });
      }
      for (const step of migration.steps) {
        if (step.kind === 'concurrent-index' && invalid.has(step.index)) repairs.push({ migration, step });
      }
    }
    const status: MigrationStatus = {
      currentVersion: state.ledger.reduce((max, row) => Math.max(max, row.version), 0),
      latestVersion: this.#migrations.at(-1)?.version ?? 0,
      applied,
      pending: pendingMigrations.map((migration) => this.#pending(migration)),
      drift,
      unknownApplied: state.ledger.filter((row) => !known.has(row.version)).map((row) => row.version),
      invalidIndexes: state.invalidIndexes,
    };
    const toApply = to === undefined ? pendingMigrations : pendingMigrations.filter((migration) => migration.version <= to);
    return { status, toApply, repairs };
  }

  #refuseDrift(drift: readonly MigrationDrift[]): void {
    if (drift.length === 0) return;
    const list = drift
      .map((d) => `${d.version} (${d.name}): applied ${d.appliedChecksum.slice(0, 12)}…, file now ${d.fileChecksum.slice(0, 12)}…`)
      .join('; ');
    this.#logger.error('migrate.drift', { drift });
    throw new MigrationError(`applied migration${drift.length > 1 ? 's were' : ' was'} changed after being applied: ${list}. Add a new migration instead of editing an applied one.`);
  }

  /** Creates the ledger and lease tables; a transaction-scoped advisory lock keeps first-time runners from colliding. */
  async #bootstrapLedger(): Promise<void> {
    await this.#driver.transaction(async (tx) => {
      await tx.execute(`SELECT pg_advisory_xact_lock(hashtext('reelay.schema_migrations'))`);
      for (const sql of ledgerStatements) await tx.execute(sql);
    });
  }

  async #apply(migration: Migration, lease: Lease): Promise<{ version: number; name: string; durationMs: number }> {
    const started = Date.now();
    this.#logger.info('migrate.migration.start', { version: migration.version, name: migration.name });
    for (const step of migration.steps) await this.#runStep(migration, step, lease);
    const durationMs = Date.now() - started;
    const { rowCount } = await this.#driver.execute(recordMigrationSql, {
      version: migration.version,
      name: migration.name,
      checksum: this.#checksum(migration),
      durationMs,
      owner: lease.owner,
    });
    if (rowCount !== 1) {
      throw new MigrationError(`${describe(migration)} ran but could not be recorded: the lease ${lease.owner} is no longer held`);
    }
    this.#logger.info('migrate.migration.ok', { version: migration.version, name: migration.name, durationMs });
    return { version: migration.version, name: migration.name, durationMs };
  }

  async #runStep(migration: Migration, step: Step, lease: Lease): Promise<void> {
    const index = migration.steps.indexOf(step) + 1;
    const fields = { version: migration.version, name: migration.name, step: index, kind: step.kind };
    lease.assertHeld();
    const started = Date.now();
    this.#logger.info('migrate.step.start', { ...fields, sql: stepStatements(step) });
    try {
      if (step.kind === 'transaction') await this.#runTransactionStep(step, fields, lease);
      else await this.#buildIndex(step, fields, lease);
    } catch (error) {
      this.#logger.error('migrate.step.failed', { ...fields, error });
      if (error instanceof MigrationError) throw error;
      throw new MigrationError(`${describe(migration)} failed at step ${index}: ${(error as Error).message}`, { cause: error });
    }
    this.#logger.info('migrate.step.ok', { ...fields, durationMs: Date.now() - started });
  }

  async #runTransactionStep(step: TransactionStep, fields: Record<string, unknown>, lease: Lease): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#driver.transaction(async (tx) => {
          // Bounded wait: while this ALTER waits for its lock, every later query on the table waits behind it.
          await tx.execute(`SET LOCAL lock_timeout = '${this.#lockTimeoutMs}ms'`);
          for (const sql of step.statements) await tx.execute(sql);
        });
        return;
      } catch (error) {
        if (!isDatabaseError(error, SqlState.lockNotAvailable, SqlState.deadlockDetected)) throw error;
        if (attempt >= this.#lockAttempts) {
          throw new MigrationError(
            `step ${String(fields.step)} of migration ${String(fields.version)} could not get its lock in ${attempt} attempts of ${this.#lockTimeoutMs} ms`,
            { cause: error },
          );
        }
        const delayMs = backoff(attempt, this.#lockBaseDelayMs, this.#lockMaxDelayMs);
        this.#logger.warn('migrate.step.lock_retry', { ...fields, attempt, sqlState: error.sqlState, delayMs });
        await sleep(delayMs);
        lease.assertHeld();
      }
    }
  }

  async #indexState(name: string): Promise<IndexState> {
    const { rows } = await this.#driver.execute<{ valid: boolean; building: boolean }>(indexStateSql, { name });
    const row = rows[0];
    if (row === undefined) return 'missing';
    if (row.valid) return 'valid';
    return row.building ? 'building' : 'invalid';
  }

  /**
   * Brings one concurrent index to VALID: waits out a build already running (e.g. one a timed-out or dead runner
   * started with continueAfterTimeout), drops an INVALID leftover of a failed build, builds, and polls until valid.
   */
  async #buildIndex(step: ConcurrentIndexStep, fields: Record<string, unknown>, lease: Lease): Promise<void> {
    const deadline = Date.now() + this.#pollTimeoutMs;
    let built = false;
    for (let poll = 1; ; ) {
      lease.assertHeld();
      const state = await this.#indexState(step.index);
      if (state === 'valid') return;
      if (Date.now() > deadline) throw new MigrationError(`index ${step.index} is still not valid after ${this.#pollTimeoutMs} ms`);
      if (state === 'building') {
        this.#logger.debug('migrate.index.poll', { ...fields, index: step.index, poll });
        await sleep(Math.min(5000, this.#pollIntervalMs * 1.5 ** (poll - 1)));
        poll += 1;
        continue;
      }
      if (built) {
        this.#logger.error('migrate.index.invalid', { ...fields, index: step.index, state });
        throw new MigrationError(`concurrent build of index ${step.index} failed and left it ${state}; the next run drops and rebuilds it`);
      }
      if (state === 'invalid') {
        this.#logger.warn('migrate.index.rebuild', { ...fields, index: step.index, table: step.table });
        await this.#driver.execute(`DROP INDEX CONCURRENTLY IF EXISTS ${step.index}`, {}, { continueAfterTimeout: true });
      }
      built = true;
      try {
        await this.#driver.execute(step.sql, {}, { continueAfterTimeout: true, idempotent: false });
      } catch (error) {
        // The call timed out but the build goes on (continueAfterTimeout): the loop polls it to the end.
        if (!isCallTimeout(error)) {
          if ((await this.#indexState(step.index)) === 'invalid') {
            this.#logger.error('migrate.index.invalid', { ...fields, index: step.index, error });
          }
          throw error;
        }
        this.#logger.info('migrate.index.call_timeout', { ...fields, index: step.index });
      }
    }
  }
}

export function createMigrator(options: MigratorOptions): Migrator {
  return new Engine(options);
}
