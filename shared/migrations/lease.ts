/**
 * The migration lease: one row in `schema_migrations_lock` (owner, expires_at on the database's clock) that
 * serialises runners, renewed on a timer while its holder works (why a row and not an advisory lock: engine.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Driver } from '../db/driver.js';
import { MigrationError } from '../errors.js';
import type { Logger } from '../log.js';
import { retry } from '../retry.js';
import { acquireLeaseSql, renewLeaseSql } from './ledger.js';

/** One run of `up()` holding the lease: renews it on a timer and fences every write with it. */
export class Lease {
  #timer: NodeJS.Timeout | undefined;
  #lost = false;
  #released = false;

  private constructor(
    private readonly driver: Driver,
    private readonly logger: Logger,
    readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Takes the lease, waiting (full-jitter backoff, 50 ms doubling to 2 s) while another runner holds it, for at most
   * `waitMs` and never past the invocation's deadline.
   */
  static async acquire(driver: Driver, logger: Logger, label: string, ttlMs: number, waitMs: number): Promise<Lease> {
    const owner = `${label}/${randomUUID()}`;
    const holder = async () =>
      (await driver.execute<{ owner: string; expires_at: Date }>('SELECT owner, expires_at FROM schema_migrations_lock WHERE id = 1')).rows[0];
    return retry(
      async (attempt) => {
        const { rows } = await driver.execute(acquireLeaseSql, { owner, ttlSeconds: ttlMs / 1000 });
        if (rows.length !== 1) throw new LeaseHeld();
        logger.info('migrate.lock.acquired', { owner, attempts: attempt });
        const lease = new Lease(driver, logger, owner, ttlMs);
        lease.#startRenewing();
        return lease;
      },
      {
        policy: { baseDelayMs: 50, maxDelayMs: 2_000, budgetMs: waitMs, limitMs: waitMs },
        retryable: (error) => error instanceof LeaseHeld,
        onRetry: async (_error, { attempt }) => {
          if (attempt !== 1) return;
          const held = await holder();
          logger.info('migrate.lock.wait', { owner, holder: held?.owner, expiresAt: held?.expires_at });
        },
        onExhausted: async (_error, { elapsedMs }) => {
          const held = await holder();
          return new MigrationError(
            `timed out after ${elapsedMs} ms waiting for the migration lease held by ${held?.owner ?? 'another runner'}` +
              ` (expires ${held?.expires_at.toISOString() ?? 'soon'})`,
          );
        },
      },
    );
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

/** The lease row belongs to another runner (not yet expired): wait and try again. */
class LeaseHeld extends Error {}
