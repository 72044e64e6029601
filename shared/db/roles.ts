/**
 * reelay's database roles (migration 0004) and how they get their passwords.
 *
 * In AWS every role logs in through the Data API with its own Secrets Manager secret (`{username, password}`). The
 * migration creates the roles without a password (it is frozen, literal SQL, and must never hold one); the migrate
 * function, which runs at every deploy with the master secret, then reads each role's secret and gives the role
 * LOGIN with that password ({@link setRolePasswords}), before the other functions are updated to use them
 * (infra/constructs/migration-trigger.ts).
 *
 * The password itself is never sent to the database: the function computes the SCRAM-SHA-256 verifier PostgreSQL
 * stores (RFC 5802 / RFC 7677, as `psql \password` does) and passes that, as a bound parameter, to a `DO` block that
 * quotes it with `format('%L')`. Nothing in a statement text, a server log or pg_stat_statements can reveal the
 * password, and no string is spliced into SQL by hand.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Driver } from './driver.js';
import type { SchemaTable } from './schema.js';
import { MigrationError } from '../errors.js';

/** The roles beside the master user. Their names are written literally in migration 0004. */
export const databaseRoles = { app: 'reelay_app', read: 'reelay_read' } as const;
export type DatabaseRole = (typeof databaseRoles)[keyof typeof databaseRoles];
export const databaseRoleNames: readonly DatabaseRole[] = Object.values(databaseRoles);

export const tablePrivilegeKinds = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const;
export type TablePrivilege = (typeof tablePrivilegeKinds)[number];

const appWrites: readonly TablePrivilege[] = ['SELECT', 'INSERT', 'UPDATE'];
const readOnly: readonly TablePrivilege[] = ['SELECT'];
/** 0005: a deletion removes the row (shared/db/video-deletion-db.ts); 0006: the outbox's prune. */
const appWritesAndDeletes: readonly TablePrivilege[] = [...appWrites, 'DELETE'];

/**
 * Exactly what each role holds on each of reelay's tables (the grants of 0004, 0005's DELETE on videos, and of every
 * later migration that adds a table). test/migrations/schema-model.test.ts compares it with the live catalog.
 */
export const tablePrivileges: Readonly<Record<SchemaTable, Readonly<Record<DatabaseRole, readonly TablePrivilege[]>>>> = {
  videos: { reelay_app: appWritesAndDeletes, reelay_read: readOnly },
  mux_webhook_events: { reelay_app: appWrites, reelay_read: readOnly },
  deferred_mux_data: { reelay_app: appWrites, reelay_read: readOnly },
  /** 0006: reconcile prunes published events. */
  video_events: { reelay_app: appWritesAndDeletes, reelay_read: readOnly },
};

export interface RoleCredentials {
  readonly username: string;
  readonly password: string;
}

const scramIterations = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
 * (base64). PostgreSQL stores a string in this form as is, instead of hashing it as a password. The password must be
 * printable ASCII, for which SASLprep (RFC 4013, applied by PostgreSQL) changes nothing.
 */
export function scramSha256Verifier(password: string, options: { readonly salt?: Buffer; readonly iterations?: number } = {}): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new MigrationError('a database role password must be printable ASCII without spaces');
  const salt = options.salt ?? randomBytes(16);
  const iterations = options.iterations ?? scramIterations;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export type RolePasswordOutcome = 'set' | 'missing';

export interface RolePasswordReport {
  readonly role: DatabaseRole;
  /** `missing`: the role does not exist (yet): migration 0004 has not been applied. */
  readonly outcome: RolePasswordOutcome;
}

function knownRole(username: string): DatabaseRole {
  const role = databaseRoleNames.find((name) => name === username);
  // Only the roles reelay created: a secret naming the master (or anyone else) must never change their password.
  if (role === undefined) throw new MigrationError(`a role secret names "${username}", which is not one of reelay's roles (${databaseRoleNames.join(', ')})`);
  return role;
}

// The role name and verifier travel as parameters and are quoted by PostgreSQL itself (%I, %L); set_config(…, true)
// lasts until the end of this transaction only, and the verifier is not sent back in the answer.
const stageSql = `SELECT count(*) AS staged FROM (
  SELECT set_config('reelay.role_name', :role, true) AS role_name, set_config('reelay.role_verifier', :verifier, true) AS verifier
) AS staged_settings`;
const alterSql = `DO $$
BEGIN
  EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', current_setting('reelay.role_name'), current_setting('reelay.role_verifier'));
END
$$`;

/**
 * Gives each role LOGIN and the password of its secret. Idempotent (run at every deploy). A role that does not exist
 * is reported `missing` and left alone; a secret naming a role that is not reelay's throws {@link MigrationError}.
 */
export async function setRolePasswords(driver: Driver, credentials: readonly RoleCredentials[]): Promise<RolePasswordReport[]> {
  const reports: RolePasswordReport[] = [];
  for (const { username, password } of credentials) {
    const role = knownRole(username);
    const verifier = scramSha256Verifier(password);
    const { rows } = await driver.execute('SELECT 1 AS found FROM pg_roles WHERE rolname = :role', { role });
    if (rows.length === 0) {
      reports.push({ role, outcome: 'missing' });
      continue;
    }
    await driver.transaction(async (tx) => {
      await tx.execute(stageSql, { role, verifier });
      await tx.execute(alterSql);
    });
    reports.push({ role, outcome: 'set' });
  }
  return reports;
}
