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
import type { Driver } from '../db/driver.js';
import { DatabaseUnavailableError, isDatabaseError, MigrationError, SqlState, type DatabaseError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { retry, systemClock } from '../retry.js';
import { migrations as defaultMigrations } from './index.js';
import { Lease } from './lease.js';
import type {
  AppliedMigration,
  InvalidIndex,
  MigrationDrift,
  MigrationPlan,
  MigrationStatus,
  Migrator,
  MigratorOptions,
  PendingMigration,
  PlannedStep,
  UpResult,
} from './migrator.js';
import {
  indexStateSql,
  ledgerStatements,
  readInvalidIndexes,
  readLedger,
  recordMigrationSql,
  type IndexState,
  type LedgerRow,
} from './ledger.js';
import {
  migrationChecksum,
  stepStatements,
  validateMigrations,
  type ConcurrentIndexStep,
  type Migration,
  type Step,
  type TransactionStep,
} from './migration.js';

export type {
  AppliedMigration,
  IndexPollOptions,
  InvalidIndex,
  LeaseOptions,
  LockTimeoutOptions,
  MigrationDrift,
  MigrationPlan,
  MigrationStatus,
  Migrator,
  MigratorOptions,
  PendingMigration,
  PlannedStep,
  UpResult,
} from './migrator.js';

interface DatabaseState {
  readonly ledger: readonly LedgerRow[];
  readonly invalidIndexes: readonly InvalidIndex[];
}

interface Analysis {
  readonly status: MigrationStatus;
  readonly toApply: readonly Migration[];
  readonly repairs: readonly { readonly migration: Migration; readonly step: ConcurrentIndexStep }[];
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

  /** One DDL transaction, retried (full-jitter backoff) while its lock is not granted in time or it deadlocks. */
  async #runTransactionStep(step: TransactionStep, fields: Record<string, unknown>, lease: Lease): Promise<void> {
    await retry(
      async (attempt) => {
        if (attempt > 1) lease.assertHeld();
        await this.#driver.transaction(async (tx) => {
          // Bounded wait: while this ALTER waits for its lock, every later query on the table waits behind it.
          await tx.execute(`SET LOCAL lock_timeout = '${this.#lockTimeoutMs}ms'`);
          for (const sql of step.statements) await tx.execute(sql);
        });
      },
      {
        policy: { baseDelayMs: this.#lockBaseDelayMs, maxDelayMs: this.#lockMaxDelayMs, maxAttempts: this.#lockAttempts, budgetMs: Number.POSITIVE_INFINITY },
        retryable: (error) => isDatabaseError(error, SqlState.lockNotAvailable, SqlState.deadlockDetected),
        onRetry: (error, { attempt, delayMs }) => {
          this.#logger.warn('migrate.step.lock_retry', { ...fields, attempt, sqlState: (error as DatabaseError).sqlState, delayMs });
        },
        onExhausted: (error, { attempt }) =>
          new MigrationError(
            `step ${String(fields.step)} of migration ${String(fields.version)} could not get its lock in ${attempt} attempts of ${this.#lockTimeoutMs} ms`,
            { cause: error },
          ),
      },
    );
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
    let confirmedInvalid = false;
    for (let poll = 1; ; ) {
      lease.assertHeld();
      const state = await this.#indexState(step.index);
      if (state === 'valid') return;
      if (Date.now() > deadline) throw new MigrationError(`index ${step.index} is still not valid after ${this.#pollTimeoutMs} ms`);
      if (state === 'building') {
        confirmedInvalid = false;
        this.#logger.debug('migrate.index.poll', { ...fields, index: step.index, poll });
        await systemClock.sleep(Math.min(5000, this.#pollIntervalMs * 1.5 ** (poll - 1)));
        poll += 1;
        continue;
      }
      if (built) {
        this.#logger.error('migrate.index.invalid', { ...fields, index: step.index, state });
        throw new MigrationError(`concurrent build of index ${step.index} failed and left it ${state}; the next run drops and rebuilds it`);
      }
      if (state === 'invalid' && !confirmedInvalid) {
        // A finishing build leaves pg_stat_progress_create_index just before the transaction that marks the index
        // valid commits (DefineIndex in src/backend/commands/indexcmds.c), so one look can see a healthy build as a
        // dead one. Look again after a pause before dropping anything.
        confirmedInvalid = true;
        await systemClock.sleep(this.#pollIntervalMs);
        continue;
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
