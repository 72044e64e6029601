/**
 * The migrator's public face: what `createMigrator` (engine.ts) takes, and what `status()`, `plan()` and `up()`
 * report.
 */
import type { Driver } from '../db/driver.js';
import type { Logger } from '../log.js';
import type { Migration } from './migration.js';

export interface LockTimeoutOptions {
  /** `SET LOCAL lock_timeout` for every DDL transaction, in ms. Default 2000. */
  readonly ms?: number;
  /** Attempts per DDL step when the lock is not granted in time (55P03) or a deadlock is detected. Default 30. */
  readonly attempts?: number;
  /** Full-jitter backoff between attempts: at most `baseDelayMs`, doubling up to `maxDelayMs`. Defaults 100 / 5000. */
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
