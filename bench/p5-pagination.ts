/**
 * P5: `GET /api/videos` at depth 100,000 against the first page, through the real videos function and the Data API
 * driver (local endpoint), and OFFSET pagination of the same query on the same table as the baseline.
 */
import { performance } from 'node:perf_hooks';
import type { Driver } from '../shared/db/driver.js';
import { createDriver, driverConfigFromEnv } from '../shared/db/create-driver.js';
import { silentLogger } from '../shared/log.js';
import { createMigrator } from '../shared/migrations/engine.js';
import { databaseTemplate, fillVideos } from './support/databases.js';
import { createFunction, expectStatus, invokeHttp, startBenchDataApi, type HttpFunction } from './support/functions.js';
import { interleaved, median, ms, quantile, ratioOf, round } from './support/measure.js';
import type { Benchmark, BenchmarkContext, BenchmarkOutcome } from './support/report.js';

const owner = 'bench-owner-0';
const pageSize = 20;

/** The list query VideoDB runs, paged with OFFSET instead of a keyset: what most APIs do, and the baseline. */
const offsetPageSql = `SELECT *, CAST(created_at AS text) AS cursor_created_at FROM videos
  WHERE owner_id = :ownerId ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset`;

/**
 * The API's cursor for "after the row at `depth`" (VideoDB's format: base64url of [created_at as PostgreSQL prints
 * it, id]). Built here from one OFFSET query instead of walking 5,000 pages; the deep page's first row is checked
 * against the row OFFSET finds, so a wrong cursor cannot go unnoticed.
 */
async function cursorAtDepth(driver: Driver, depth: number): Promise<string> {
  const { rows } = await driver.execute<{ created: string; id: string }>(
    `SELECT CAST(created_at AS text) AS created, CAST(id AS text) AS id FROM videos
      WHERE owner_id = :ownerId ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET :offset`,
    { ownerId: owner, offset: depth - 1 },
  );
  const row = rows[0];
  if (!row) throw new Error(`the table has fewer than ${depth} videos of ${owner}`);
  return Buffer.from(JSON.stringify([row.created, row.id])).toString('base64url');
}

function firstId(json: unknown): string | undefined {
  return (json as { videos?: { id?: string }[] } | undefined)?.videos?.[0]?.id;
}

type Variant = 'keyset-first' | 'keyset-deep' | 'offset-first' | 'offset-deep';

async function run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
  const depth = context.quick ? 20_000 : 100_000;
  const rounds = context.quick ? 15 : 40;
  const rows = depth + 10 * pageSize;
  context.log(`building ${rows.toLocaleString('en')} videos of one owner at the latest migration`);
  const template = await databaseTemplate(async (database) => {
    await createMigrator({ driver: database.driver, logger: silentLogger }).up();
    await fillVideos(database.driver, rows);
  });
  const database = await template.copy();
  const dataApi = await startBenchDataApi(database);
  const driver = await createDriver(driverConfigFromEnv(dataApi.env));
  try {
    const videos: HttpFunction = await createFunction('videos', dataApi.env);
    const cursor = await cursorAtDepth(database.driver, depth);
    const list = (query: Record<string, string>) =>
      expectStatus(invokeHttp(videos, 'videos', { routeKey: 'GET /api/videos', query, sub: owner }), 200, 'GET /api/videos');
    const offsetPage = (offset: number) => driver.execute(offsetPageSql, { ownerId: owner, limit: pageSize + 1, offset }, { idempotent: true });

    // Correctness before timing: the keyset page at depth starts where OFFSET says it should.
    const deep = await list({ limit: String(pageSize), cursor });
    const expected = (await offsetPage(depth)).rows[0]?.id;
    if (firstId(deep.json) !== expected) throw new Error(`deep keyset page starts at ${firstId(deep.json)}, OFFSET ${depth} at ${String(expected)}`);

    const calls: Record<Variant, () => Promise<unknown>> = {
      'keyset-first': () => list({ limit: String(pageSize) }),
      'keyset-deep': () => list({ limit: String(pageSize), cursor }),
      'offset-first': () => offsetPage(0),
      'offset-deep': () => offsetPage(depth),
    };
    // Warm every path (plans cached, capabilities detected, connections open) before measuring.
    for (const call of Object.values(calls)) await call();
    const statementsBefore = dataApi.server.stats.total();
    const samples = await interleaved(Object.keys(calls) as Variant[], rounds, async (variant) => {
      const started = performance.now();
      await calls[variant]();
      return round(performance.now() - started, 3);
    });
    const callsPerRequest = (dataApi.server.stats.total() - statementsBefore) / (rounds * 4);
    const medians = Object.fromEntries(Object.entries(samples).map(([variant, values]) => [variant, round(median(values), 3)])) as Record<Variant, number>;
    const p90 = Object.fromEntries(Object.entries(samples).map(([variant, values]) => [variant, round(quantile(values, 0.9), 3)])) as Record<Variant, number>;
    const deepRatio = ratioOf(medians['keyset-deep'], medians['keyset-first']);
    const offsetRatio = ratioOf(medians['offset-deep'], medians['offset-first']);
    const met = deepRatio !== null && deepRatio <= 1.5;
    return {
      rows: [
        {
          label: `GET /api/videos at depth ${depth.toLocaleString('en')} vs the first page (keyset)`,
          figure: `${ms(medians['keyset-deep'])} (p90 ${ms(p90['keyset-deep'])})`,
          baseline: `${ms(medians['keyset-first'])} first page (p90 ${ms(p90['keyset-first'])})`,
          ratio: deepRatio,
          goal: '≤ 1.5×',
          met,
          why: met
            ? 'The cursor (created_at, id) seeks straight into videos_owner_listing_idx: page N reads the same 21 index entries as page 1.'
            : 'The deep page costs more than the first: check with EXPLAIN that the keyset query seeks into videos_owner_listing_idx.',
        },
        {
          label: `Baseline: OFFSET ${depth.toLocaleString('en')} vs OFFSET 0 (same query, same driver)`,
          figure: `${ms(medians['offset-deep'])} (p90 ${ms(p90['offset-deep'])})`,
          baseline: `${ms(medians['offset-first'])} OFFSET 0`,
          ratio: offsetRatio,
          goal: '— (what keyset avoids)',
          met: null,
          why: `OFFSET walks and discards ${depth.toLocaleString('en')} index entries on every request.`,
        },
        {
          label: 'Deep page: keyset (through the whole function) vs OFFSET (SQL only)',
          figure: ms(medians['keyset-deep']),
          baseline: ms(medians['offset-deep']),
          ratio: ratioOf(medians['keyset-deep'], medians['offset-deep']),
          goal: '— (context)',
          met: null,
          why: 'The keyset figure includes the whole handler (event parsing, auth, presenting 20 videos); the OFFSET one only the statement.',
        },
      ],
      parameters: { backend: database.backend, rowsOfOwner: rows, depth, pageSize, rounds, path: 'videos createHandler → DataApiDriver → local Data API → database' },
      samples: { milliseconds: samples, medians, p90, dataApiCallsPerRequest: round(callsPerRequest, 3) },
      notes: [
        `Backend: ${database.backend === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite (DATABASE_URL not set)'}; the table is at the latest migration (indexes of 0003 present).`,
        `The four variants are interleaved, ${rounds} rounds, order rotating each round; figures are medians.`,
      ],
    };
  } finally {
    await driver.close();
    await dataApi.close();
    await database.dispose();
    await template.dispose();
  }
}

export const benchmark: Benchmark = {
  name: 'p5',
  title: 'Listing at depth 100,000 (keyset pagination)',
  baseline: 'the first page in the same run, and OFFSET pagination of the same query on the same table.',
  run,
};
