/**
 * The checks themselves, each one request (or one poll) against the API, as any client would make them. Each
 * resolves to what later checks need, or throws a {@link CheckFailure} saying what the API answered instead.
 */
import { isGatewayRouteMissing, send, UnreachableError, type ApiClient } from './api.js';
import {
  createdUploadAnswer,
  expectAnswer,
  healthDetailsAnswer,
  livenessAnswer,
  migrationRunAnswer,
  migrationStatusAnswer,
  videoAnswer,
  videoListAnswer,
  type CreatedUploadAnswer,
  type MigrationStatus,
  type VideoAnswer,
} from './answers.js';
import type { Clip } from './clip.js';
import { CheckFailure, CheckSkipped, type Passed } from './report.js';

/** `2, 3, 4` or, for a long list, its first 10 and an ellipsis. */
const listed = (items: readonly unknown[]): string => `${items.slice(0, 10).join(', ')}${items.length > 10 ? ', …' : ''}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function checkLiveness(api: ApiClient): Promise<Passed<true>> {
  try {
    const body = expectAnswer(await api.request('GET', '/api/database/health'), 200, livenessAnswer, 'GET /api/database/health');
    return { detail: `status ${body.status}`, value: true };
  } catch (error) {
    if (error instanceof UnreachableError) throw new CheckFailure(`API unreachable at ${api.baseUrl}: ${error.reason}`);
    throw error;
  }
}

export async function checkDatabase(api: ApiClient, adminToken: string): Promise<Passed<true>> {
  const answer = await api.request('GET', '/api/database/health/details', { token: adminToken });
  // 503 carries the same body: say what the function saw rather than only the status.
  const body = expectAnswer(answer, answer.status === 503 ? 503 : 200, healthDetailsAnswer, 'GET /api/database/health/details');
  if (!body.database.connected) throw new CheckFailure(`database not connected (${body.status}) after ${body.database.latencyMs} ms`);
  return { detail: `connected, ${body.database.latencyMs} ms, schema version ${body.schema.version} of ${body.schema.latestVersion}`, value: true };
}

export async function readMigrationStatus(api: ApiClient, adminToken: string): Promise<MigrationStatus> {
  return expectAnswer(await api.request('GET', '/api/database/run-mux-migration', { token: adminToken }), 200, migrationStatusAnswer, 'GET /api/database/run-mux-migration');
}

/** Drift, unknown or invalid migrations fail; pending ones fail unless they are about to be applied. */
export function judgeMigrationStatus(status: MigrationStatus, applyMigrations: boolean): Passed<MigrationStatus> {
  const problems = [
    status.drift.length > 0 && `${status.drift.length} applied migration(s) differ from the code (drift)`,
    status.unknownApplied.length > 0 && `${status.unknownApplied.length} applied migration(s) this code does not know`,
    status.invalidIndexes.length > 0 && `${status.invalidIndexes.length} invalid index(es)`,
  ].filter((problem): problem is string => typeof problem === 'string');
  if (problems.length > 0) throw new CheckFailure(`version ${status.currentVersion} of ${status.latestVersion}: ${problems.join('; ')}`);
  const version = `version ${status.currentVersion} of ${status.latestVersion}`;
  if (status.pending.length === 0) return { detail: `${version}, nothing pending`, value: status };
  const pending = `pending ${listed(status.pending.map((migration) => migration.version))}`;
  if (!applyMigrations) throw new CheckFailure(`${version}, ${pending}: run again with --apply-migrations, or invoke the migrate function (docs/DEPLOY.md)`);
  return { detail: `${version}, ${pending} (--apply-migrations: applied below)`, value: status };
}

export async function runMigrations(api: ApiClient, adminToken: string): Promise<Passed<MigrationStatus>> {
  const run = expectAnswer(await api.request('POST', '/api/database/run-mux-migration', { token: adminToken }), 200, migrationRunAnswer, 'POST /api/database/run-mux-migration');
  if (run.status.pending.length > 0) {
    throw new CheckFailure(`ran ${listed(run.ran.map((migration) => migration.version))}, still pending ${listed(run.status.pending.map((migration) => migration.version))}`);
  }
  return { detail: `ran ${listed(run.ran.map((migration) => migration.version)) || 'nothing'} in ${run.durationMs} ms, now version ${run.status.currentVersion}`, value: run.status };
}

export async function createUpload(api: ApiClient, token: string, clip: Clip, title: string): Promise<CreatedUploadAnswer> {
  const request = { title, filename: clip.filename, contentType: clip.contentType, size: clip.bytes.length };
  return expectAnswer(await api.request('POST', '/api/videos/upload', { token, json: request }), 201, createdUploadAnswer, 'POST /api/videos/upload');
}

function describeFallback(created: CreatedUploadAnswer): string {
  const { usedFallback, muxColumns } = created.schema;
  return `usedFallback: ${usedFallback}, ${muxColumns.missing.length === 0 ? 'all Mux columns present' : `${muxColumns.missing.length} Mux columns missing (${muxColumns.missing.slice(0, 3).join(', ')}${muxColumns.missing.length > 3 ? ', …' : ''})`}`;
}

/** What the create should report: the fallback exactly when the migration status says the Mux columns are missing. */
export function expectFallback(created: CreatedUploadAnswer, legacySchema: boolean): Passed<CreatedUploadAnswer> {
  const { usedFallback } = created.schema;
  if (usedFallback === legacySchema) return { detail: `${describeFallback(created)}${legacySchema ? ' (the legacy schema)' : ''}`, value: created };
  if (usedFallback) {
    throw new CheckFailure(`${describeFallback(created)}: the API wrote the video without its Mux columns; the schema is behind (check the migration, --admin-token)`);
  }
  throw new CheckFailure(`${describeFallback(created)}, but the migration status says the Mux columns are missing`);
}

/** The presigned single PUT, with exactly the signed headers (fetch sets content-length from the body). */
export async function putClip(created: CreatedUploadAnswer, clip: Clip, timeoutMs: number): Promise<Passed<true>> {
  const { upload } = created;
  if (upload.mode !== 'single') throw new CheckFailure('the create answered a multipart upload: use a --clip below the multipart threshold');
  const { 'content-length': _signedLength, ...headers } = upload.headers;
  const answer = await send(upload.url, { method: upload.method, headers, body: clip.bytes }, timeoutMs);
  if (answer.status !== 200) throw new CheckFailure(`PUT to the presigned URL answered ${answer.status} ${answer.text.slice(0, 300)}`);
  return { detail: `${clip.bytes.length} bytes to ${new URL(upload.url).host}`, value: true };
}

/** Polls GET /api/videos/{id} until the video is ready; errored or cancelled fails at once. */
export async function waitUntilReady(api: ApiClient, token: string, id: string, timeoutMs: number, intervalMs = 500): Promise<Passed<VideoAnswer>> {
  const started = performance.now();
  for (;;) {
    const { video } = expectAnswer(await api.request('GET', `/api/videos/${id}`, { token }), 200, videoAnswer, `GET /api/videos/${id}`);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (video.status === 'ready') {
      const playback = video.mux === null ? 'no Mux fields (legacy row)' : `playback id ${video.mux.playbackId}`;
      return { detail: `ready after ${seconds} s, ${playback}`, value: video };
    }
    if (video.status === 'errored' || video.status === 'cancelled') {
      const error = video.mux?.error ? `: ${JSON.stringify(video.mux.error)}` : '';
      throw new CheckFailure(`video ${id} is ${video.status} after ${seconds} s${error}`);
    }
    if (performance.now() - started > timeoutMs) {
      throw new CheckFailure(`video ${id} is still ${video.status}${video.mux ? ` (Mux ${video.mux.status})` : ''} after ${seconds} s (--timeout ${timeoutMs / 1000})`);
    }
    await sleep(intervalMs);
  }
}

/** GET /api/videos, page by page, until the video shows up. */
export async function checkListed(api: ApiClient, token: string, id: string, maxPages = 20): Promise<Passed<true>> {
  let cursor: string | null | undefined;
  let seen = 0;
  for (let page = 1; page <= maxPages; page += 1) {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
    const list = expectAnswer(await api.request('GET', `/api/videos${query}`, { token }), 200, videoListAnswer, 'GET /api/videos');
    seen += list.videos.length;
    if (list.videos.some((video) => video.id === id)) return { detail: `video ${id} on page ${page} (${seen} videos read)`, value: true };
    cursor = list.nextCursor;
    if (!cursor) break;
  }
  throw new CheckFailure(`video ${id} is not in GET /api/videos (${seen} videos read)`);
}

/**
 * DELETE /api/videos/{id}. A deployment without that route gets API Gateway's own not-found answer (`{ message }`,
 * not reelay's `{ error }`): the check is skipped, with the id to delete by hand.
 */
export async function deleteVideo(api: ApiClient, token: string, id: string): Promise<Passed<true>> {
  const answer = await api.request('DELETE', `/api/videos/${id}`, { token });
  if (answer.status === 204 || answer.status === 202) return { detail: `video ${id}: ${answer.status}`, value: true };
  if (isGatewayRouteMissing(answer)) throw new CheckSkipped(`this deployment has no DELETE route; delete video ${id} by hand`);
  throw new CheckFailure(`DELETE /api/videos/${id} answered ${answer.status} ${answer.text.slice(0, 200)}`);
}
