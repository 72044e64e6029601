/**
 * The order of `npm run verify`'s checks, and what each one needs from the ones before: liveness first (nothing else
 * runs when the API is down), then the database and the migrations (admin token), then an upload all the way to
 * `ready` and into the list (user token), and last the clean-up of every video it created, whatever failed.
 */
import { randomUUID } from 'node:crypto';
import { apiClient } from './api.js';
import type { CreatedUploadAnswer, MigrationStatus } from './answers.js';
import type { VerifyConfig } from './args.js';
import {
  checkDatabase,
  checkListed,
  checkLiveness,
  createUpload,
  deleteVideo,
  expectFallback,
  judgeMigrationStatus,
  putClip,
  readMigrationStatus,
  runMigrations,
  waitUntilReady,
} from './checks.js';
import { loadClip } from './clip.js';
import { Report, type CheckResult, type Passed } from './report.js';

export interface VerifyOutcome {
  readonly ok: boolean;
  readonly results: readonly CheckResult[];
}

export async function runVerify(config: VerifyConfig, write: (line: string) => void): Promise<VerifyOutcome> {
  const report = new Report(write);
  const api = apiClient(config.api, config.timeoutMs);
  const { token, adminToken } = config;
  /** Every video this run created, in order: the clean-up deletes them all. */
  const created: CreatedUploadAnswer[] = [];
  const finish = (): VerifyOutcome => {
    write(report.summary(config.api));
    return { ok: !report.failed, results: report.results };
  };
  const track = (upload: CreatedUploadAnswer): CreatedUploadAnswer => {
    created.push(upload);
    return upload;
  };
  // One run's videos share a title prefix, so an operator can find any left behind.
  const runId = randomUUID().slice(0, 8);
  const title = (what: string) => `reelay verify ${runId} ${what}`;
  const clip = await loadClip(config.clipPath);
  const create = (what: string) => async () => track(await createUpload(api, token ?? '', clip, title(what)));
  const created201 = (upload: CreatedUploadAnswer): Passed<CreatedUploadAnswer> => ({
    detail: `201, video ${upload.video.id} ${upload.video.status}, ${upload.upload.mode} upload`,
    value: upload,
  });

  if ((await report.check('api', () => checkLiveness(api))) === undefined) return finish();
  try {
    await uploadAndMigrationChecks();
  } finally {
    for (const { video } of created) await report.check('delete video', () => deleteVideo(api, token ?? '', video.id));
  }
  return finish();

  async function uploadAndMigrationChecks(): Promise<void> {
    // Read even when the check fails (pending migrations): the fallback check needs to know the schema.
    let status: MigrationStatus | undefined;
    if (adminToken === null) {
      report.skip('database', 'no --admin-token');
      report.skip('migration status', 'no --admin-token');
    } else {
      await report.check('database', () => checkDatabase(api, adminToken));
      await report.check('migration status', async () => judgeMigrationStatus((status = await readMigrationStatus(api, adminToken)), config.applyMigrations));
    }
    // Unknown without an admin token: a deployment is expected to be migrated, so then the fallback fails.
    let legacySchema = status !== undefined && status.muxColumns.missing.length > 0;
    let migrated = false;

    if (adminToken !== null && config.applyMigrations && status !== undefined && status.pending.length > 0) {
      if (token !== null) {
        const before = await report.check('create before migration', async () => created201(await create('before migration')()));
        if (before) await report.check('fallback before migration', async () => expectFallback(before, legacySchema));
      }
      const after = await report.check('migration run', () => runMigrations(api, adminToken));
      if (after !== undefined) {
        migrated = true;
        legacySchema = after.muxColumns.missing.length > 0;
      }
    }

    const uploadChecks = ['create upload', migrated ? 'fallback after migration' : 'fallback', 'upload to S3', 'ready', 'video list'] as const;
    const skipFrom = (from: number, reason: string) => {
      for (const name of uploadChecks.slice(from)) report.skip(name, reason);
    };
    if (token === null) return skipFrom(0, 'no --token');
    const first = await report.check(uploadChecks[0], async () => created201(await create('upload')()));
    if (first === undefined) return skipFrom(1, 'the create failed');
    // The first create after a migration must already be complete: no function waits out its cached view of the
    // schema for it (shared/db/video-insert.ts).
    const upload = await report.check(uploadChecks[1], async () => expectFallback(first, legacySchema));
    // A wrong fallback is reported; the upload itself is still checked, on the video created last.
    const video = upload ?? created.at(-1) ?? first;
    if ((await report.check(uploadChecks[2], () => putClip(video, clip, config.timeoutMs))) === undefined) return skipFrom(3, 'the PUT failed');
    const videoId = video.video.id;
    await report.check(uploadChecks[3], () => waitUntilReady(api, token, videoId, config.timeoutMs));
    await report.check(uploadChecks[4], () => checkListed(api, token, videoId));
  }
}
