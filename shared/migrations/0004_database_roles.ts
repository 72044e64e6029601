/**
 * 0004: least privilege inside the database. Two roles beside the master user (which owns every table and runs the
 * migrations):
 *
 * - `reelay_app`: SELECT, INSERT and UPDATE on reelay's three tables — what uploads, ingest, the Mux webhook and
 *   reconcile do. Nothing reelay runs deletes rows, so DELETE (and TRUNCATE) are not granted; no DDL.
 * - `reelay_read`: SELECT on the same tables — the videos function.
 *
 * Neither may touch the engine's ledger and lease (`schema_migrations`, `schema_migrations_lock`): no grant names them.
 *
 * Roles are cluster-wide in PostgreSQL, grants are per database. Several databases of one cluster (CI runs many test
 * databases at once) may run this migration concurrently: CREATE ROLE is attempted, and "already exists" is accepted
 * both as duplicate_object (the role was there) and as unique_violation (a concurrent creator committed first). The
 * roles are created NOLOGIN: the migrate function gives them LOGIN and the password of their Secrets Manager secret
 * right after the migrations run (shared/db/roles.ts), so no password is ever written in a migration.
 *
 * `REVOKE CREATE ON SCHEMA … FROM PUBLIC` is PostgreSQL 15's default; a database created on an older version still
 * lets every role create tables in `public` until it runs. Run by a master that does not own the schema, it changes
 * nothing and PostgreSQL only warns.
 *
 * Tables added by later migrations get their grants in the same migration (README.md in this folder): default
 * privileges are not used.
 *
 * Frozen: applied databases hold this file's checksum.
 */
import { transactionStep, type Migration } from './migration.js';

export const databaseRolesMigration: Migration = {
  version: 4,
  name: 'database_roles',
  steps: [
    transactionStep(`
      DO $$
      BEGIN
        BEGIN
          CREATE ROLE reelay_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
          NULL;
        END;
        BEGIN
          CREATE ROLE reelay_read NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
          NULL;
        END;
      END
      $$`),
    transactionStep(
      `
      DO $$
      BEGIN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO reelay_app, reelay_read', current_schema());
        EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
      END
      $$`,
      'GRANT SELECT, INSERT, UPDATE ON TABLE videos, mux_webhook_events, deferred_mux_data TO reelay_app',
      'GRANT SELECT ON TABLE videos, mux_webhook_events, deferred_mux_data TO reelay_read',
    ),
  ],
};
