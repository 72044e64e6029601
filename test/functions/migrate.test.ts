/**
 * The migrate Lambda, invoked directly: `{ action: status | plan | up, to? }`, and the deploy-time trigger's empty
 * event, which means "up". Through the local Data API, as in AWS.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHandler, parseMigratePayload, type MigrateHandler } from '../../functions/migrate/handler.js';
import { lambdaContext } from '../../local/api-gateway/event.js';
import { MigrationError, ValidationError } from '../../shared/errors.js';
import { memoryLogger, type LogFields } from '../../shared/log.js';
import { latestVersion, migrations } from '../../shared/migrations/index.js';
import { backends, type TestDatabase } from '../support/databases.js';
import type { StartedDataApi } from '../support/data-api.js';
import { scramSha256Verifier } from '../../shared/db/roles.js';
import { listen, type LocalServer } from '../mux/support/servers.js';
import { bundledPackages, dataApiEnv, useDataApiDatabase, type Json } from './admin-support.js';

const fastEngine = { lease: { ttlMs: 10_000, waitMs: 60_000 }, indexPoll: { intervalMs: 20 } };
const allVersions = migrations.map((migration) => migration.version);

describe('migrate payloads', () => {
  it.each([
    [{ action: 'status' }, { action: 'status', source: 'invoke' }],
    [{ action: 'plan', to: 2 }, { action: 'plan', to: 2, source: 'invoke' }],
    [{ action: 'up' }, { action: 'up', source: 'invoke' }],
    [{}, { action: 'up', source: 'deploy-trigger' }],
    [null, { action: 'up', source: 'deploy-trigger' }],
    [undefined, { action: 'up', source: 'deploy-trigger' }],
  ])('%j → %j', (event, expected) => {
    expect(parseMigratePayload(event)).toEqual(expected);
  });

  it.each([
    ['an unknown action', { action: 'drop' }],
    ['a version without an action', { to: 2 }],
    ['`to` on status', { action: 'status', to: 2 }],
    ['a negative version', { action: 'up', to: -1 }],
    ['a fractional version', { action: 'up', to: 1.5 }],
    ['a version as text', { action: 'up', to: '2' }],
    ['an unknown key', { action: 'up', force: true }],
    ['a bare string', 'up'],
    ['an array', [{ action: 'up' }]],
  ])('refuses %s with a ValidationError', (_what, event) => {
    expect(() => parseMigratePayload(event)).toThrow(ValidationError);
  });
});

describe.each(backends)('migrate function on %s', (backend) => {
  const local = useDataApiDatabase(backend);
  let db: TestDatabase;
  let api: StartedDataApi;
  let logger: ReturnType<typeof memoryLogger>;
  let handler: MigrateHandler;
  const events = (name: string): LogFields[] => logger.lines.filter((line) => line.event === name);
  beforeEach(async () => {
    ({ db, api } = local);
    logger = memoryLogger();
    handler = await createHandler(dataApiEnv(api), { logger, migrator: fastEngine });
  });

  it('status on an empty database: nothing applied, everything pending', async () => {
    const result: Json = await handler({ action: 'status' }, lambdaContext('migrate'));
    expect(result).toMatchObject({ action: 'status', source: 'invoke', driver: 'data-api', result: { currentVersion: 0, latestVersion } });
    expect(result.result.pending.map((m: { version: number }) => m.version)).toEqual(allVersions);
  });

  it('plan --to 2 lists migrations 1 and 2 with their statements and runs nothing', async () => {
    const result: Json = await handler({ action: 'plan', to: 2 }, lambdaContext('migrate'));
    expect(result.result).toMatchObject({ currentVersion: 0, targetVersion: 2 });
    expect(result.result.migrations.map((m: { version: number }) => m.version)).toEqual([1, 2]);
    expect(result.result.migrations[0].steps[0].statements.join('\n')).toMatch(/CREATE TABLE IF NOT EXISTS videos/);
    expect(((await handler({ action: 'status' })) as Json).result.currentVersion).toBe(0);
  });

  it('up --to 1, then up: applies in order, logs each step as JSON', async () => {
    const first: Json = await handler({ action: 'up', to: 1 }, lambdaContext('migrate'));
    expect(first.result.applied.map((m: { version: number }) => m.version)).toEqual([1]);
    const second: Json = await handler({ action: 'up' }, lambdaContext('migrate'));
    expect(second.result).toMatchObject({ currentVersion: latestVersion });
    expect(second.result.applied.map((m: { version: number }) => m.version)).toEqual(allVersions.slice(1));
    expect(events('migrate.invoke.start').map((line) => line.action)).toEqual(['up', 'up']);
    expect(events('migrate.migration.ok').map((line) => line.version)).toEqual(allVersions);
    expect(events('migrate.step.ok').length).toBeGreaterThanOrEqual(3);
    expect(events('migrate.invoke.ok')).toHaveLength(2);
  });

  it('the deploy-time trigger (an empty event) applies every pending migration', async () => {
    const result: Json = await handler({}, lambdaContext('migrate'));
    expect(result).toMatchObject({ action: 'up', source: 'deploy-trigger', result: { currentVersion: latestVersion } });
    expect(((await handler({})) as Json).result.applied).toEqual([]);
  });

  it('an invalid payload throws a ValidationError and touches nothing', async () => {
    api.server.stats.reset();
    await expect(handler({ action: 'down' }, lambdaContext('migrate'))).rejects.toThrow(ValidationError);
    expect(api.server.stats.total()).toBe(0);
    expect(events('migrate.invoke.invalid_payload')).toHaveLength(1);
  });

  it('a failing migration throws (so Lambda, and the deploy, report it)', async () => {
    await handler({ action: 'up', to: 1 });
    await db.driver.execute(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`);
    await expect(handler({}, lambdaContext('migrate'))).rejects.toThrow(MigrationError);
    expect(events('migrate.invoke.failed')).toHaveLength(1);
  });
});

/** A stand-in for the Parameters and Secrets extension holding the roles' secrets, as RDS generates them. */
async function roleSecretsExtension(secrets: Record<string, unknown>, sessionToken: string): Promise<LocalServer & { reads: string[] }> {
  const reads: string[] = [];
  const server = await listen((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const secretId = url.searchParams.get('secretId') ?? '';
    reads.push(secretId);
    if (url.pathname !== '/secretsmanager/get' || req.headers['x-aws-parameters-secrets-token'] !== sessionToken) return void res.writeHead(401).end();
    if (!(secretId in secrets)) return void res.writeHead(400).end('ResourceNotFoundException');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ARN: secretId, SecretString: JSON.stringify(secrets[secretId]) }));
  });
  return Object.assign(server, { reads });
}

describe.each(backends)('migrate function setting the roles’ passwords on %s', (backend) => {
  const local = useDataApiDatabase(backend);
  const appArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:DatabaseAppSecret-AbCdEf';
  const readArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:DatabaseReadSecret-GhIjKl';
  const sessionToken = 'migrate-session-token';
  const passwords = { reelay_app: randomBytes(18).toString('base64url'), reelay_read: randomBytes(18).toString('base64url') };
  let extension: Awaited<ReturnType<typeof roleSecretsExtension>>;
  let logger: ReturnType<typeof memoryLogger>;
  beforeEach(async () => {
    logger = memoryLogger();
    extension = await roleSecretsExtension(
      {
        [appArn]: { username: 'reelay_app', password: passwords.reelay_app, engine: 'postgres', dbname: 'reelay' },
        [readArn]: { username: 'reelay_read', password: passwords.reelay_read, engine: 'postgres', dbname: 'reelay' },
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:master': { username: 'postgres', password: 'taken-over-master' },
      },
      sessionToken,
    );
  });
  afterEach(() => extension.close());

  const handlerWith = (roleSecretArns: string) =>
    createHandler(dataApiEnv(local.api, { DATABASE_ROLE_SECRET_ARNS: roleSecretArns, AWS_SESSION_TOKEN: sessionToken }), {
      logger,
      migrator: fastEngine,
      roleSecrets: { secretsExtensionUrl: extension.url },
    });

  /** What PostgreSQL stores for a role: its LOGIN flag and password verifier (pg_authid is readable by a superuser). */
  async function stored(role: string): Promise<{ login: boolean; verifier: string | null }> {
    const { rows } = await local.db.driver.execute<{ login: boolean; verifier: string | null }>(
      'SELECT rolcanlogin AS login, rolpassword AS verifier FROM pg_authid WHERE rolname = :role',
      { role },
    );
    return rows[0] ?? { login: false, verifier: null };
  }

  /** The verifier of `password` with the salt and iterations of `verifier`: equal only if it was made from that password. */
  function sameVerifier(verifier: string | null, password: string): boolean {
    const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(verifier ?? '');
    if (!match) return false;
    return scramSha256Verifier(password, { iterations: Number(match[1]), salt: Buffer.from(match[2] as string, 'base64') }) === verifier;
  }

  it('the deploy trigger migrates, then gives each role LOGIN and its secret’s password, never sending the password', async () => {
    const handler = await handlerWith(`${appArn},${readArn}`);
    local.api.server.stats.reset();
    const result: Json = await handler({}, lambdaContext('migrate'));
    expect(result.result.currentVersion).toBe(latestVersion);
    expect(result.roles).toEqual([
      { role: 'reelay_app', outcome: 'set' },
      { role: 'reelay_read', outcome: 'set' },
    ]);
    for (const role of ['reelay_app', 'reelay_read'] as const) {
      const { login, verifier } = await stored(role);
      expect(login, role).toBe(true);
      expect(sameVerifier(verifier, passwords[role]), `${role}'s stored verifier is made from its secret's password`).toBe(true);
    }
    expect(extension.reads.sort()).toEqual([appArn, readArn].sort());
    const sent = JSON.stringify(local.api.server.stats.statements) + JSON.stringify(logger.lines);
    for (const password of Object.values(passwords)) expect(sent).not.toContain(password);
    expect(sent).not.toContain('SCRAM-SHA-256$');
  });

  it('runs again at the next deploy: the same passwords, new salts', async () => {
    const handler = await handlerWith(`${appArn},${readArn}`);
    await handler({});
    const first = await stored('reelay_app');
    await handler({});
    const second = await stored('reelay_app');
    expect(second.verifier).not.toBe(first.verifier);
    expect(sameVerifier(second.verifier, passwords.reelay_app)).toBe(true);
  });

  it.runIf(backend === 'pglite')('leaves roles alone below 0004 (up --to 3) and reports them missing', async () => {
    const result: Json = await (await handlerWith(`${appArn},${readArn}`))({ action: 'up', to: 3 });
    expect(result.roles).toEqual([
      { role: 'reelay_app', outcome: 'missing' },
      { role: 'reelay_read', outcome: 'missing' },
    ]);
  });

  it('refuses a secret that names a user that is not one of reelay’s roles, and changes nobody’s password', async () => {
    const before = await stored('postgres');
    const handler = await handlerWith(`${appArn},arn:aws:secretsmanager:us-east-1:123456789012:secret:master`);
    await expect(handler({})).rejects.toThrow(/"postgres", which is not one of reelay's roles/);
    expect(await stored('postgres')).toEqual(before);
  });

  it('fails the deploy when a role secret cannot be read', async () => {
    const handler = await handlerWith(`${appArn},arn:aws:secretsmanager:us-east-1:123456789012:secret:gone`);
    await expect(handler({})).rejects.toThrow(MigrationError);
    expect(events('migrate.invoke.failed')).toHaveLength(1);
  });

  const events = (name: string): LogFields[] => logger.lines.filter((line) => line.event === name);
});

describe('migrate function bundle', () => {
  it('carries neither the Mux SDK, the S3 client, nor middy', async () => {
    const packages = await bundledPackages('functions/migrate/handler.ts');
    expect(packages.has('@aws-sdk/client-rds-data')).toBe(true);
    for (const name of ['@mux/mux-node', '@aws-sdk/client-s3', '@middy/core']) expect(packages.has(name), name).toBe(false);
  });
});
