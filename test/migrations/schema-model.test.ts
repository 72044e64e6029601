/**
 * The runtime schema model (shared/db/schema.ts, shared/db/roles.ts) against what the frozen migrations really create:
 * every migration is run on a fresh database and the live catalog — tables, columns, types, defaults, nullability,
 * and each role's privileges — is compared with the model, so the two cannot drift apart silently.
 */
import { describe, expect, it } from 'vitest';
import type { Driver } from '../../shared/db/driver.js';
import { databaseRoleNames, tablePrivilegeKinds, tablePrivileges, type DatabaseRole } from '../../shared/db/roles.js';
import { basicVideoColumns, muxColumns, schemaTables, type ColumnModel } from '../../shared/db/schema.js';
import { basicColumns, muxFieldColumns } from '../../shared/db/video-fields.js';
import { migrations } from '../../shared/migrations/index.js';
import { transactionStep } from '../../shared/migrations/migration.js';
import { backends } from '../support/databases.js';
import { testMigrator, useFreshDatabase } from './support.js';

/** The engine's own tables: the migration role's alone. */
const engineTables = ['schema_migrations', 'schema_migrations_lock'];

interface CatalogColumn {
  table_name: string;
  name: string;
  type: string;
  not_null: boolean;
  default_sql: string | null;
}

async function liveTables(driver: Driver): Promise<Map<string, ColumnModel[]>> {
  const { rows } = await driver.execute<CatalogColumn>(
    `SELECT c.relname AS table_name, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default_sql
       FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
      ORDER BY c.relname, a.attnum`,
  );
  const tables = new Map<string, ColumnModel[]>();
  for (const row of rows) {
    const columns = tables.get(row.table_name) ?? [];
    columns.push({ name: row.name, type: row.type, notNull: row.not_null, ...(row.default_sql !== null && { default: row.default_sql }) });
    tables.set(row.table_name, columns);
  }
  return tables;
}

/** Only what the catalog can see of a model column (the model may carry more, e.g. `origin`). */
const asCatalog = (column: ColumnModel): ColumnModel => ({
  name: column.name,
  type: column.type,
  notNull: column.notNull,
  ...(column.default !== undefined && { default: column.default }),
});

/**
 * Every way the database's privileges differ from the model: each role's table privileges on reelay's tables, none on
 * any other table (the engine's), USAGE but not CREATE on the schema, USAGE on every sequence for the app role.
 */
async function privilegeProblems(driver: Driver): Promise<string[]> {
  const values = (items: readonly string[]) => items.map((item, index) => `('${item}', ${index})`).join(', ');
  const { rows } = await driver.execute<{ role: string; table_name: string; privilege: string; granted: boolean }>(
    `SELECT r.role, c.relname AS table_name, p.privilege, has_table_privilege(r.role, c.oid, p.privilege) AS granted
       FROM (VALUES ${values(databaseRoleNames)}) AS r (role, role_order)
      CROSS JOIN (VALUES ${values(tablePrivilegeKinds)}) AS p (privilege, privilege_order)
      CROSS JOIN pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
      ORDER BY r.role_order, c.relname, p.privilege_order`,
  );
  const problems: string[] = [];
  for (const { role, table_name, privilege, granted } of rows) {
    const expected = tablePrivileges[table_name as keyof typeof tablePrivileges]?.[role as DatabaseRole] ?? [];
    if (granted !== (expected as readonly string[]).includes(privilege)) problems.push(`${role} ${granted ? 'holds' : 'lacks'} ${privilege} on ${table_name}`);
  }
  const { rows: schema } = await driver.execute<{ role: string; usage: boolean; create: boolean }>(
    `SELECT r.role, has_schema_privilege(r.role, current_schema(), 'USAGE') AS usage, has_schema_privilege(r.role, current_schema(), 'CREATE') AS create
       FROM (VALUES ${values(databaseRoleNames)}) AS r (role, role_order) ORDER BY r.role_order`,
  );
  for (const { role, usage, create } of schema) {
    if (!usage) problems.push(`${role} lacks USAGE on the schema`);
    if (create) problems.push(`${role} may CREATE in the schema`);
  }
  const { rows: sequences } = await driver.execute<{ name: string; usable: boolean }>(
    `SELECT relname AS name, has_sequence_privilege('reelay_app', oid, 'USAGE') AS usable
       FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'S'`,
  );
  for (const sequence of sequences) if (!sequence.usable) problems.push(`reelay_app lacks USAGE on sequence ${sequence.name}`);
  return problems;
}

describe('the runtime schema model', () => {
  it('lists the seed’s 18 Mux columns first, in the seed’s order and types', () => {
    expect(muxColumns.filter((column) => column.origin === 'seed').map((column) => `${column.name} ${column.type}`)).toEqual([
      'mux_asset_id character varying(255)',
      'mux_playback_id character varying(255)',
      'mux_upload_id character varying(255)',
      'mux_status character varying(50)',
      'mux_thumbnail_url text',
      'mux_streaming_url text',
      'mux_mp4_url text',
      'mux_duration_seconds integer',
      'mux_aspect_ratio character varying(20)',
      'mux_created_at timestamp without time zone',
      'mux_ready_at timestamp without time zone',
      'audio_enhanced boolean',
      'audio_enhancement_job_id character varying(255)',
      'transcription_job_id character varying(255)',
      'captions_webvtt_url text',
      'captions_srt_url text',
      'transcript_text text',
      'transcript_confidence numeric(3,2)',
    ]);
    expect(muxColumns.findIndex((column) => column.origin === 'pipeline')).toBe(18);
  });

  it('maps every videos column to exactly one field of the video record (video-fields.ts)', () => {
    const mapped = [...Object.values(basicColumns), ...Object.values(muxFieldColumns)].map((spec) => spec.column);
    expect([...mapped].sort()).toEqual([...basicVideoColumns, ...muxColumns].map((column) => column.name).sort());
    expect(new Set(mapped).size).toBe(mapped.length);
  });
});

describe.each(backends)('the runtime schema model against the migrations on %s', (backend) => {
  const db = useFreshDatabase(backend);

  it('is exactly what every migration creates: tables, columns in order, types, defaults, NOT NULL', async () => {
    await testMigrator(db().driver).migrator.up();
    const live = await liveTables(db().driver);
    expect([...live.keys()].sort()).toEqual([...schemaTables.map((table) => table.name), ...engineTables].sort());
    for (const table of schemaTables) expect(live.get(table.name), table.name).toEqual(table.columns.map(asCatalog));
  });

  it('holds only the basic videos columns at 0001, the legacy schema', async () => {
    await testMigrator(db().driver).migrator.up({ to: 1 });
    const live = await liveTables(db().driver);
    expect([...live.keys()].sort()).toEqual(['videos', ...engineTables].sort());
    expect(live.get('videos')).toEqual(basicVideoColumns.map(asCatalog));
  });

  it('gives each database role exactly its privileges, and none on the engine’s ledger', async () => {
    await testMigrator(db().driver).migrator.up();
    expect(await privilegeProblems(db().driver)).toEqual([]);
  });

  it('reports grants that differ from the model (the privilege check is not vacuous)', async () => {
    const withPlaylists = [
      ...migrations,
      { version: 9001, name: 'playlists', steps: [transactionStep('CREATE TABLE IF NOT EXISTS playlists (id uuid PRIMARY KEY, title text NOT NULL)')] },
    ];
    await testMigrator(db().driver, { migrations: withPlaylists }).migrator.up();
    await db().driver.execute('REVOKE INSERT ON TABLE videos FROM reelay_app');
    await db().driver.execute('GRANT SELECT ON TABLE playlists TO reelay_read');
    await db().driver.execute('CREATE SEQUENCE playlist_numbers');
    expect(await privilegeProblems(db().driver)).toEqual([
      'reelay_app lacks INSERT on videos',
      'reelay_read holds SELECT on playlists',
      'reelay_app lacks USAGE on sequence playlist_numbers',
    ]);
  });
});
