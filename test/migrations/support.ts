/** Helpers shared by the migration suites. */
import type { Driver } from '../../shared/db/driver.js';
import { memoryLogger, type LogFields } from '../../shared/log.js';
import { createMigrator, type MigratorOptions } from '../../shared/migrations/engine.js';

/** A migrator with fast test timings and a logger whose lines the test can read. */
export function testMigrator(driver: Driver, options: Partial<MigratorOptions> = {}) {
  const logger = memoryLogger();
  const migrator = createMigrator({
    driver,
    logger,
    lease: { ttlMs: 10_000, waitMs: 60_000 },
    indexPoll: { intervalMs: 20 },
    ...options,
  });
  return { migrator, logger, lines: logger.lines };
}

export function eventsNamed(lines: readonly LogFields[], event: string): LogFields[] {
  return lines.filter((line) => line.event === event);
}

export async function ledger(driver: Driver): Promise<Array<{ version: number; name: string; checksum: string }>> {
  const { rows } = await driver.execute<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  return rows;
}

export async function indexValidity(driver: Driver, name: string): Promise<boolean | undefined> {
  const { rows } = await driver.execute<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname = :name AND c.relnamespace = current_schema()::regnamespace`,
    { name },
  );
  return rows[0]?.valid;
}

let counter = 0;

/** Inserts one row into the 0001 `videos` table and returns its id. */
export async function insertBasicVideo(driver: Driver, fields: { ownerId?: string; title?: string } = {}): Promise<string> {
  counter += 1;
  const { rows } = await driver.execute<{ id: string }>(
    `INSERT INTO videos (owner_id, title, original_filename, content_type, size_bytes, s3_key)
     VALUES (:ownerId, :title, 'clip.mp4', 'video/mp4', 1024, :s3Key) RETURNING id`,
    { ownerId: fields.ownerId ?? 'user-1', title: fields.title ?? `video ${counter}`, s3Key: `uploads/${process.pid}-${Date.now()}-${counter}.mp4` },
  );
  return (rows[0] as { id: string }).id;
}
