/**
 * P1: Data API calls per warm request, counted where AWS would bill them: at the (local) Data API endpoint. The real
 * functions (createHandler(env), the code AWS runs) serve create-upload, Mux webhook and list requests; the baseline
 * is the seed's insert (try every Mux column, on SQLSTATE 42703 insert the basic columns) on the legacy schema.
 * The functions publish their lifecycle events to a local EventBridge, as deployed (issue J): a request that changes
 * a video's status costs the change (which records its event) and the event's acknowledgement.
 * Also: how often a container reads the catalog for capability detection.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Driver, ParamValue } from '../shared/db/driver.js';
import { createDriver, driverConfigFromEnv } from '../shared/db/create-driver.js';
import { isDatabaseError, SqlState } from '../shared/errors.js';
import { muxColumns } from '../shared/db/schema.js';
import { muxSignatureHeader } from '../local/mux-emulator/signing.js';
import { assetBinder } from '../shared/mux/binding.js';
import type { DataApiStats } from '../local/data-api/server.js';
import { startLocalEventBridge, type LocalEventBridge } from '../local/eventbridge/server.js';
import { openBenchDatabase, type BenchDatabase } from './support/databases.js';
import { createFunction, expectStatus, invokeHttp, startBenchDataApi, startBenchS3, type BenchDataApi, type BenchS3, type HttpFunction } from './support/functions.js';
import { interleaved, ratioOf, round, sleep } from './support/measure.js';
import type { Benchmark, BenchmarkContext, BenchmarkOutcome, ResultRow } from './support/report.js';

const owner = 'bench-user';
const webhookSecret = 'bench-webhook-secret';
const bindingKey = 'bench-binding-key-bench-binding-key-0123';
const binder = assetBinder(bindingKey);
const muxEnv = {
  MUX_TOKEN_ID: 'bench-token-id',
  MUX_TOKEN_SECRET: 'bench-token-secret',
  MUX_WEBHOOK_SECRET: webhookSecret,
  MUX_BINDING_KEY: bindingKey,
  // Nothing listens here: a request that needed Mux would fail, and the benchmark with it.
  MUX_BASE_URL: 'http://127.0.0.1:9',
};

/**
 * The seed's create: INSERT with every Mux column; when the schema lacks one (SQLSTATE 42703), INSERT again with the
 * basic columns. On the legacy schema every upload pays both statements.
 */
export async function seedCreateVideo(driver: Driver, video: { id: string; title: string; s3Key: string }): Promise<'full' | 'basic'> {
  const basic: Record<string, ParamValue> = {
    id: video.id,
    owner_id: owner,
    title: video.title,
    original_filename: 'clip.mp4',
    content_type: 'video/mp4',
    size_bytes: 10_485_760,
    s3_key: video.s3Key,
    status: 'awaiting_upload',
  };
  const insert = (values: Record<string, ParamValue>) => {
    const columns = Object.keys(values);
    const casts = (column: string) => (column === 'id' ? 'CAST(:id AS uuid)' : `:${column}`);
    return driver.execute(`INSERT INTO videos (${columns.join(', ')}) VALUES (${columns.map(casts).join(', ')}) RETURNING *`, values);
  };
  const mux = Object.fromEntries(muxColumns.filter((column) => column.origin === 'seed').map((column) => [column.name, column.name === 'mux_status' ? 'pending' : null]));
  try {
    await insert({ ...basic, ...mux });
    return 'full';
  } catch (error) {
    if (!isDatabaseError(error, SqlState.undefinedColumn)) throw error;
    await insert(basic);
    return 'basic';
  }
}

function isCatalogQuery(sql: string): boolean {
  return /information_schema\.columns/i.test(sql);
}

/** Data API calls (every operation) and catalog reads made while `work` runs. */
async function counted(stats: DataApiStats, work: () => Promise<unknown>): Promise<{ calls: number; catalogReads: number; statements: string[] }> {
  const callsBefore = stats.total();
  const statementsBefore = stats.statements.length;
  await work();
  const statements = stats.statements.slice(statementsBefore);
  return { calls: stats.total() - callsBefore, catalogReads: statements.filter(isCatalogQuery).length, statements };
}

interface Stack {
  readonly database: BenchDatabase;
  readonly dataApi: BenchDataApi;
  readonly env: Record<string, string | undefined>;
  close(): Promise<void>;
}

const benchBus = 'reelay-bench';

async function openStack(version: number | undefined, s3: BenchS3, events: LocalEventBridge, extraEnv: Record<string, string> = {}): Promise<Stack> {
  const database = await openBenchDatabase(version ?? Number.MAX_SAFE_INTEGER);
  const dataApi = await startBenchDataApi(database);
  return {
    database,
    dataApi,
    env: { ...dataApi.env, ...s3.env, ...muxEnv, EVENT_BUS_NAME: benchBus, EVENTBRIDGE_ENDPOINT: events.endpoint, ...extraEnv },
    async close() {
      await dataApi.close();
      await database.dispose();
    },
  };
}

interface Requests {
  createUpload(): Promise<string>;
  /** Moves the video to where Mux reports on it (uploaded and claimed by ingest attempt 1), outside any count. */
  claim(videoId: string): Promise<void>;
  webhook(videoId: string): Promise<void>;
  list(): Promise<void>;
}

async function requestsFor(env: Record<string, string | undefined>, driver: Driver, schema: 'latest' | 'legacy'): Promise<Requests> {
  const [uploads, webhook, videos]: [HttpFunction, HttpFunction, HttpFunction] = await Promise.all([
    createFunction('uploads', env),
    createFunction('mux-webhook', env),
    createFunction('videos', env),
  ]);
  return {
    async createUpload() {
      const response = await expectStatus(
        invokeHttp(uploads, 'uploads', {
          routeKey: 'POST /api/videos/upload',
          sub: owner,
          json: { title: 'Bench clip', filename: 'clip.mp4', contentType: 'video/mp4', size: 10_485_760 },
        }),
        201,
        'POST /api/videos/upload',
      );
      const id = (response.json as { video?: { id?: string } }).video?.id;
      if (typeof id !== 'string') throw new Error(`create upload answered without a video id: ${response.body.slice(0, 300)}`);
      return id;
    },
    async claim(videoId) {
      // What ingest leaves (status processing, attempt 1): only then does a Mux event about the video's asset apply.
      await driver.execute(`UPDATE videos SET status = 'processing'${schema === 'latest' ? ', ingest_attempts = 1' : ''} WHERE id = CAST(:id AS uuid)`, { id: videoId });
    },
    async webhook(videoId) {
      const assetId = `asset-${randomUUID()}`;
      const body = JSON.stringify({
        id: randomUUID(),
        type: 'video.asset.ready',
        created_at: new Date().toISOString(),
        object: { type: 'asset', id: assetId },
        environment: { name: 'bench', id: 'bench' },
        data: {
          id: assetId,
          status: 'ready',
          playback_ids: [{ id: `playback-${randomUUID()}`, policy: 'public' }],
          duration: 12.5,
          aspect_ratio: '16:9',
          passthrough: binder.passthrough(videoId, 1),
          tracks: [],
          created_at: Math.floor(Date.now() / 1000),
        },
        attempts: [],
      });
      const response = await expectStatus(
        invokeHttp(webhook, 'mux-webhook', {
          routeKey: 'POST /api/webhooks/mux',
          body,
          headers: { 'mux-signature': muxSignatureHeader(body, webhookSecret) },
        }),
        200,
        'POST /api/webhooks/mux',
      );
      if ((response.json as { result?: string }).result !== 'applied') throw new Error(`webhook not applied: ${response.body.slice(0, 300)}`);
    },
    async list() {
      await expectStatus(invokeHttp(videos, 'videos', { routeKey: 'GET /api/videos', sub: owner, query: { limit: '20' } }), 200, 'GET /api/videos');
    },
  };
}

type RequestKind = 'create upload' | 'webhook' | 'list';

async function run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
  const rounds = context.quick ? 10 : 50;
  const ttlMs = context.quick ? 1_000 : 2_000;
  const ttlWindows = 3;
  const s3 = await startBenchS3();
  const events = await startLocalEventBridge({ buses: [benchBus], region: 'us-east-1', account: '000000000000' });
  const latest = await openStack(undefined, s3, events);
  const legacy = await openStack(1, s3, events);
  let seedDriver: Driver | undefined;
  try {
    context.log(`warm requests through the real functions, ${rounds} interleaved rounds, latest and legacy schema`);
    seedDriver = await createDriver(driverConfigFromEnv(legacy.dataApi.env));
    const seedOnLatest = await createDriver(driverConfigFromEnv(latest.dataApi.env));
    const onLatest = await requestsFor(latest.env, seedOnLatest, 'latest');
    const onLegacy = await requestsFor(legacy.env, seedDriver, 'legacy');
    // Cold requests first (capability detection, connections): not what P1 counts.
    const pending = { latest: [await onLatest.createUpload()], legacy: [await onLegacy.createUpload()] };
    for (const [requests, ids] of [[onLatest, pending.latest], [onLegacy, pending.legacy]] as const) {
      const id = ids.pop() as string;
      await requests.claim(id);
      await requests.webhook(id);
    }
    await onLatest.list();
    await onLegacy.list();
    await seedCreateVideo(seedDriver, { id: randomUUID(), title: 'warm', s3Key: `uploads/${randomUUID()}/source.mp4` });
    await seedCreateVideo(seedOnLatest, { id: randomUUID(), title: 'warm', s3Key: `uploads/${randomUUID()}/source.mp4` });

    type Variant = `${RequestKind} (${'latest' | 'legacy'})` | 'seed create (legacy)' | 'seed create (latest)';
    const variants: Variant[] = [
      'create upload (latest)', 'webhook (latest)', 'list (latest)',
      'create upload (legacy)', 'webhook (legacy)', 'list (legacy)',
      'seed create (legacy)', 'seed create (latest)',
    ];
    const statsOf = (variant: Variant) => (variant.endsWith('(latest)') ? latest : legacy).dataApi.server.stats;
    const statements: Partial<Record<Variant, string[]>> = {};
    const samples = await interleaved(variants, rounds, async (variant) => {
      const schema = variant.endsWith('(latest)') ? 'latest' : 'legacy';
      const requests = schema === 'latest' ? onLatest : onLegacy;
      // A webhook needs a video ingest has claimed: made (and claimed) outside the count.
      let claimed: string | undefined;
      if (variant.startsWith('webhook')) {
        claimed = pending[schema].shift() ?? (await requests.createUpload());
        await requests.claim(claimed);
      }
      const work: () => Promise<unknown> = variant.startsWith('create upload')
        ? async () => pending[schema].push(await requests.createUpload())
        : variant.startsWith('webhook')
          ? async () => requests.webhook(claimed as string)
          : variant.startsWith('list')
            ? () => requests.list()
            : () => seedCreateVideo(schema === 'latest' ? seedOnLatest : (seedDriver as Driver), {
                id: randomUUID(), title: 'Seed clip', s3Key: `uploads/${randomUUID()}/source.mp4`,
              });
      // A webhook with no video waiting would count a create too: make one outside the count.

      const result = await counted(statsOf(variant), work);
      // The statements of one request of each kind, to show what the calls were.
      statements[variant] ??= result.statements.map((sql) => sql.replace(/\s+/g, ' ').trim());
      return result.calls;
    });
    await seedOnLatest.close();
    const perRequest = Object.fromEntries(Object.entries(samples).map(([variant, values]) => [
      variant,
      round(values.reduce((sum, value) => sum + value, 0) / values.length, 3),
    ])) as Record<Variant, number>;
    const maxPerRequest = Object.fromEntries(Object.entries(samples).map(([variant, values]) => [
      variant, Math.max(...values),
    ])) as Record<Variant, number>;

    context.log(`capability detection: a fresh container, requests for ${ttlWindows} × CAPABILITY_TTL_MS=${ttlMs}`);
    const ttlStack = await openStack(undefined, s3, events, { CAPABILITY_TTL_MS: String(ttlMs) });
    const ttlDriver = await createDriver(driverConfigFromEnv(ttlStack.dataApi.env));
    let detection: { requests: number; catalogReads: number; elapsedMs: number; burstCatalogReads: number; burstRequests: number };
    try {
      const fresh = await requestsFor(ttlStack.env, ttlDriver, 'latest');
      const stats = ttlStack.dataApi.server.stats;
      // A burst of concurrent cold create-upload requests on one new container shares one detection.
      const burstRequests = 10;
      const burst = await counted(stats, () => Promise.all(Array.from({ length: burstRequests }, () => fresh.createUpload())));
      let requests = 0;
      const started = performance.now();
      const steady = await counted(stats, async () => {
        while (performance.now() - started < ttlWindows * ttlMs) {
          const id = await fresh.createUpload();
          await fresh.claim(id);
          await fresh.webhook(id);
          await fresh.list();
          requests += 3;
          await sleep(20);
        }
      });
      detection = { requests, catalogReads: steady.catalogReads, elapsedMs: round(performance.now() - started, 0), burstCatalogReads: burst.catalogReads, burstRequests };
    } finally {
      await ttlDriver.close();
      await ttlStack.close();
    }
    // The three functions are three containers: each may read the catalog once per TTL.
    const containers = 3;
    const allowedReads = containers * Math.ceil(detection.elapsedMs / ttlMs);

    const row = (kind: RequestKind, schema: 'latest' | 'legacy'): ResultRow => {
      const variant = `${kind} (${schema})` as Variant;
      const calls = perRequest[variant];
      const baselineVariant: Variant = `seed create (${schema})`;
      const baseline = perRequest[baselineVariant];
      // A request that changes a video's status may add the acknowledgement of its lifecycle event (issue J).
      const changesState = kind !== 'list';
      const allowed = changesState ? 2 : 1;
      const met = maxPerRequest[variant] <= allowed;
      const acknowledged = changesState && schema === 'latest';
      return {
        label: `${kind}, ${schema === 'latest' ? 'latest schema' : 'legacy schema (0001)'}`,
        figure: `${calls} call${calls === 1 ? '' : 's'} (max ${maxPerRequest[variant]})`,
        baseline: kind === 'create upload' ? `${baseline} call${baseline === 1 ? '' : 's'} (seed insert, no events)` : '—',
        ratio: kind === 'create upload' ? ratioOf(calls, baseline) : null,
        goal: changesState ? '≤ 2 per request (change + event acknowledgement)' : '≤ 1 per request',
        met,
        why: met
          ? kind === 'create upload'
            ? `One INSERT built from the cached capabilities (no catalog query, no try-then-retry)${acknowledged ? ', which records Video Upload Created in the same statement; then the event’s acknowledgement' : '; without the outbox (0001) the event is published directly, unrecorded'}.`
            : kind === 'webhook'
              ? acknowledged
                ? 'The Mux event is recorded and applied by one statement (a CTE) that also records Video Ready, then its acknowledgement; a redelivery is a no-op in one call.'
                : 'The change is applied with its guards by one statement, and Video Ready is published directly (0001 has no outbox and no webhook-event table).'
              : 'One keyset SELECT.'
          : `${calls} calls on average: see samples.statements in the JSON for the statements.`,
      };
    };
    const rows: ResultRow[] = [
      row('create upload', 'legacy'),
      row('create upload', 'latest'),
      row('webhook', 'latest'),
      row('webhook', 'legacy'),
      row('list', 'latest'),
      row('list', 'legacy'),
      {
        label: `Capability detection: catalog reads over ${(detection.elapsedMs / 1000).toFixed(1)} s of requests, TTL ${ttlMs / 1000} s, 3 containers (uploads, mux-webhook, videos)`,
        figure: `${detection.catalogReads} reads for ${detection.requests} requests`,
        baseline: `≤ ${allowedReads} allowed`,
        ratio: ratioOf(detection.catalogReads, allowedReads),
        goal: '≤ 1 per container per TTL',
        met: detection.catalogReads <= allowedReads,
        why: `A read refreshes the per-container cache once the TTL has passed; the rest of the requests read none.`,
      },
      {
        label: `Capability detection: ${detection.burstRequests} concurrent cold create-upload requests on a new container`,
        figure: `${detection.burstCatalogReads} read${detection.burstCatalogReads === 1 ? '' : 's'}`,
        baseline: '—',
        ratio: null,
        goal: '≤ 1 per container per TTL',
        met: detection.burstCatalogReads <= 1,
        why: 'Concurrent first requests share one in-flight detection.',
      },
    ];
    return {
      rows,
      parameters: { backend: latest.database.backend, rounds, capabilityTtlMs: ttlMs, ttlWindows, path: 'createHandler(env) → DataApiDriver → local Data API (counts every call) → database' },
      samples: { callsPerRequest: perRequest, maxCallsPerRequest: maxPerRequest, raw: samples, detection, statements, eventsReceived: events.events().length, putEventsCalls: events.counters },
      notes: [
        'Counted at the local Data API endpoint: every ExecuteStatement, BatchExecuteStatement, Begin/Commit/RollbackTransaction call the functions make, as AWS would bill them.',
        'Create upload is a single-PUT upload (10 MiB, below the multipart threshold), so it makes no S3 call; the webhook is a signed video.asset.ready for a video created in the same run.',
        `The functions publish to a local EventBridge (${events.events().length} events received, ${events.counters.failedEntries} entries failed): on the latest schema each create and webhook records its event in its statement and acknowledges it in a second call; on the legacy schema (no outbox) events go out directly, unrecorded.`,
        `The baseline (seed) insert runs through the same DataApiDriver: on the legacy schema its full INSERT fails with SQLSTATE 42703 and the basic INSERT follows, 2 calls; on the latest schema the full INSERT succeeds, 1 call.`,
      ],
    };
  } finally {
    await seedDriver?.close();
    await latest.close();
    await legacy.close();
    await s3.close();
    await events.close();
  }
}

export const benchmark: Benchmark = {
  name: 'p1',
  title: 'Data API calls per warm request',
  baseline: "the seed's try-full-then-basic insert (every Mux column, then the basic columns on SQLSTATE 42703), through the same Data API driver and endpoint.",
  run,
};
