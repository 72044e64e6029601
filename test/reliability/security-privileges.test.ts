/**
 * Security, least privilege (docs/RELIABILITY.md, "Security"): an attacker who obtained one function's database
 * credentials — its Data API secret, as the local stack hands it to that function — tries to write, to run DDL and
 * to rewrite the migration ledger through the raw Data API; and anyone hammers the public health route while the
 * database is paused. The database must refuse (PostgreSQL's own 42501), nothing may change, and health must neither
 * wake the database nor say anything about it, while uploads still reach `ready` under the same roles.
 */
import { randomUUID } from 'node:crypto';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from '../../shared/db/driver.js';
import type { TestStack } from '../support/local-stack.js';
import { expectEndState, recordFigures, smallVideo, stackDatabase, startReliabilityStack, uploadVideo } from './support.js';

const scenario = '11. Security: least privilege';

/** What an attacker holding `functionName`'s database secret sends: raw Data API calls with that secret. */
function attackerWith(stack: TestStack, functionName: string) {
  const env = stack.functionEnv(functionName);
  const client = new RDSDataClient({ endpoint: env.DATA_API_ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'stolen', secretAccessKey: 'stolen' }, maxAttempts: 1 });
  const target = { resourceArn: env.RDS_RESOURCE_ARN, secretArn: env.RDS_SECRET_ARN, database: env.RDS_DATABASE };
  return {
    client,
    /** The SQLSTATE the Data API reports, or `accepted` if the statement ran. */
    async attempt(sql: string): Promise<string> {
      try {
        await client.send(new ExecuteStatementCommand({ ...target, sql }));
        return 'accepted';
      } catch (error) {
        return /SQLState: (\w{5})$/.exec((error as Error).message)?.[1] ?? (error as Error).name;
      }
    },
  };
}

async function snapshot(driver: Driver): Promise<string> {
  const tables = await driver.execute<{ name: string }>(`SELECT relname AS name FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' ORDER BY relname`);
  const videos = await driver.execute('SELECT id, owner_id, title, status FROM videos ORDER BY id');
  const ledger = await driver.execute('SELECT version, checksum FROM schema_migrations ORDER BY version');
  const columns = await driver.execute(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2`);
  return JSON.stringify({ tables: tables.rows, videos: videos.rows, ledger: ledger.rows, columns: columns.rows });
}

describe('least privilege in the database, black-box through the local stack', () => {
  let stack: TestStack;
  let master: Driver;
  let alice: string;

  beforeAll(async () => {
    stack = await startReliabilityStack();
    master = await stackDatabase(stack);
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(async () => {
    await master?.close();
    await stack?.dispose();
  });

  it('a stolen function secret can do only what that function does: writes, DDL and the ledger are refused', async (context) => {
    const upload = await uploadVideo(stack, alice, `privileges-${randomUUID()}`, { bytes: smallVideo });
    const end = await expectEndState(stack, alice, [upload], 'ready');
    const before = await snapshot(master);
    const victim = upload.id;

    const attacks: Record<string, readonly string[]> = {
      // The read-only videos function: any write at all.
      videos: [
        `UPDATE videos SET owner_id = 'mallory', title = 'defaced' WHERE id = '${victim}'`,
        `INSERT INTO videos (owner_id, title, original_filename, content_type, size_bytes, s3_key) VALUES ('mallory', 'planted', 'p.mp4', 'video/mp4', 1, 'uploads/planted')`,
        'DELETE FROM videos',
        `INSERT INTO mux_webhook_events (event_id, type) VALUES ('forged', 'video.asset.ready')`,
        `UPDATE deferred_mux_data SET reconciled_at = now()`,
        // Forging a lifecycle event (the sweep would put it on the bus) or acknowledging one unsent (0006).
        `INSERT INTO video_events (video_id, status, video) VALUES ('${victim}', 'ready', '{}')`,
        'UPDATE video_events SET published_at = now()',
      ],
      // The application role (uploads; the same for video-changes, video-deletes, mux-webhook, ingest, reconcile): DDL,
      // deletes beyond a video's own row (0005 grants DELETE on videos for DELETE /api/videos/{id}), the ledger.
      uploads: [
        'CREATE TABLE planted (id int)',
        'ALTER TABLE videos ADD COLUMN planted text',
        'DROP TABLE videos',
        'TRUNCATE videos',
        'DELETE FROM mux_webhook_events',
        'DELETE FROM deferred_mux_data',
        `UPDATE schema_migrations SET checksum = 'forged'`,
        'DELETE FROM schema_migrations_lock',
        'SELECT * FROM schema_migrations',
      ],
    };
    const outcomes: Record<string, number> = {};
    let attempted = 0;
    for (const [functionName, statements] of Object.entries(attacks)) {
      const attacker = attackerWith(stack, functionName);
      try {
        for (const sql of statements) {
          const outcome = await attacker.attempt(sql);
          attempted += 1;
          expect(outcome, `${functionName}: ${sql}`).toBe('42501');
          const label = `refused with 42501 (the ${functionName} function's secret)`;
          outcomes[label] = (outcomes[label] ?? 0) + 1;
        }
      } finally {
        attacker.client.destroy();
      }
    }
    // What each may do still works: the read-only secret reads.
    const reader = attackerWith(stack, 'videos');
    try {
      expect(await reader.attempt('SELECT count(*) FROM videos')).toBe('accepted');
    } finally {
      reader.client.destroy();
    }
    const after = await snapshot(master);
    expect(after).toBe(before);

    recordFigures(context, {
      scenario,
      case: "writes, DDL and ledger edits with the videos and uploads functions' own Data API secrets; an upload to ready under the roles",
      injected: { 'statements with the videos secret': attacks.videos?.length ?? 0, 'statements with the uploads secret': attacks.uploads?.length ?? 0 },
      observed: { ...outcomes, 'rows, tables, columns and ledger changed': after === before ? 0 : 1 },
      checked: attempted + end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });

  it('public health hammered while the database is paused: every answer ok, no Data API call, nothing revealed', async (context) => {
    const requests = 300;
    stack.dataApi.stats.reset();
    stack.dataApi.faults.failNext('resuming', 1_000);
    try {
      const answers = await Promise.all(Array.from({ length: requests }, () => stack.request('GET', '/api/database/health')));
      const ok = answers.filter((answer) => answer.status === 200 && answer.text === '{"status":"ok"}').length;
      expect(ok).toBe(requests);
      expect(stack.dataApi.stats.total()).toBe(0);
      recordFigures(context, {
        scenario,
        case: 'GET /api/database/health hammered while the database is paused (DatabaseResumingException armed)',
        injected: { 'health requests': requests },
        observed: { 'answered 200 {"status":"ok"}': ok, 'Data API calls (each would resume the cluster)': stack.dataApi.stats.total() },
        checked: requests,
        lost: requests - ok,
        extraAssets: 0,
      });
    } finally {
      stack.dataApi.faults.clear();
    }
  });
});
