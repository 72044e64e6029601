/**
 * P6: `npm start` until GET /api/database/health answers `ok`, cold (no .local state: the database, S3 folder and
 * keys are created and every migration applied) and warm (the state of the previous start is there). The real
 * `npm start` runs in a scratch copy of the sources (node_modules linked), so the developer's own .local/ is never
 * touched and a running `npm start` does not get in the way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, ratioOf, round, sleep } from './support/measure.js';
import { repositoryRoot } from './support/paths.js';
import type { Benchmark, BenchmarkContext, BenchmarkOutcome } from './support/report.js';

/** What `npm start` needs: the sources it runs and the files that configure them. */
const copied = ['package.json', 'tsconfig.json', 'local', 'shared', 'functions', 'web'];
const startTimeoutMs = 120_000;

async function scratchCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reelay-bench-p6-'));
  for (const entry of copied) {
    const source = join(repositoryRoot, entry);
    if (existsSync(source)) await cp(source, join(dir, entry), { recursive: true, filter: (path) => !path.includes('node_modules') });
  }
  await symlink(join(repositoryRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

async function healthStatus(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return ((await response.json()) as { status?: string }).status;
  } catch {
    return undefined;
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.pid === undefined) return resolve();
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // npm → sh → tsx → node: the whole group this benchmark started, by its id.
    process.kill(-(child.pid as number), 'SIGINT');
  });
}

interface StartTiming {
  /** Spawn of `npm start` → first `ok` from health. */
  readonly ms: number;
  /** What `npm start` itself reports ("is up in N s": the Node process's uptime when the stack was up). */
  readonly nodeUptimeMs: number | null;
  /** 1-minute load average when the start began: this machine is shared. */
  readonly load: number;
}

/** Spawns `npm start` in `dir` and times it until health says `ok`. */
async function timeStart(dir: string, port: number): Promise<StartTiming> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), LOG_LEVEL: 'warn' };
  // The laptop default: PGlite in .local/, the Mux emulator.
  for (const name of ['DATABASE_URL', 'MUX_TOKEN_ID', 'MUX_TOKEN_SECRET', 'NODE_OPTIONS']) delete env[name];
  const load = round(loadavg()[0] ?? 0, 2);
  const started = performance.now();
  const child = spawn('npm', ['start', '--', '--log=json'], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}: ${output}`);
      if (performance.now() - started > startTimeoutMs) throw new Error(`npm start not healthy after ${startTimeoutMs} ms: ${output}`);
      if ((await healthStatus(`http://127.0.0.1:${port}/api/database/health`)) === 'ok') {
        const ms = round(performance.now() - started, 0);
        const reported = /is up in ([\d.]+) s/.exec(output)?.[1];
        return { ms, nodeUptimeMs: reported === undefined ? null : Math.round(Number(reported) * 1000), load };
      }
      await sleep(50);
    }
  } finally {
    await stop(child);
  }
}

async function run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
  const rounds = context.quick ? 1 : 3;
  const port = 39_000 + Math.floor(Math.random() * 500) * 4;
  const dir = await scratchCopy();
  try {
    context.log(`npm start in ${dir} on port ${port}, ${rounds} round(s) of cold then warm`);
    const samples: { cold: number[]; warm: number[] } = { cold: [], warm: [] };
    const timings: { cold: StartTiming[]; warm: StartTiming[] } = { cold: [], warm: [] };
    // Cold and warm alternate by nature: a warm start needs the cold start before it.
    for (let round_ = 0; round_ < rounds; round_ += 1) {
      await rm(join(dir, '.local'), { recursive: true, force: true });
      const cold = await timeStart(dir, port);
      const warm = await timeStart(dir, port);
      samples.cold.push(cold.ms);
      samples.warm.push(warm.ms);
      timings.cold.push(cold);
      timings.warm.push(warm);
      context.log(`cold ${cold.ms} ms (node reports ${cold.nodeUptimeMs} ms), warm ${warm.ms} ms (node reports ${warm.nodeUptimeMs} ms), load ${cold.load}/${warm.load}`);
    }
    const cold = median(samples.cold);
    const warm = median(samples.warm);
    const uptime = (kind: 'cold' | 'warm') => median(timings[kind].map((each) => each.nodeUptimeMs).filter((value): value is number => value !== null));
    const launcher = (kind: 'cold' | 'warm') => `${((median(samples[kind]) - uptime(kind)) / 1000).toFixed(1)} s before Node runs local/start.ts (npm, tsx), ${(uptime(kind) / 1000).toFixed(1)} s in it (loading and compiling the sources, PGlite, migrations, servers)`;
    const coldMet = cold <= 10_000;
    const warmMet = warm <= 3_000;
    return {
      rows: [
        {
          label: 'npm start → health ok, cold (no .local/)',
          figure: `${(cold / 1000).toFixed(1)} s`,
          baseline: '10 s goal',
          ratio: ratioOf(cold, 10_000),
          goal: '≤ 10 s',
          met: coldMet,
          why: `${coldMet ? 'Met' : 'Missed'}: ${launcher('cold')}; load average ${timings.cold.map((each) => each.load).join(', ')} on 2 cores.`,
        },
        {
          label: 'npm start → health ok, warm (existing .local/)',
          figure: `${(warm / 1000).toFixed(1)} s`,
          baseline: '3 s goal',
          ratio: ratioOf(warm, 3_000),
          goal: '≤ 3 s',
          met: warmMet,
          why: `${warmMet ? 'Met' : 'Missed'}: ${launcher('warm')}; load average ${timings.warm.map((each) => each.load).join(', ')} on 2 cores.`,
        },
      ],
      parameters: { rounds, command: 'npm start -- --log=json (PORT set; DATABASE_URL and MUX_* unset: PGlite and the Mux emulator)' },
      samples: { milliseconds: samples, timings },
      notes: [
        'Timed from spawning `npm start` to the first `{"status":"ok"}` from GET /api/database/health (polled every 50 ms), median of the rounds; each round deletes .local/ (cold) and then starts again on what that left (warm). Each start is stopped with SIGINT before the next.',
        'Runs in a scratch copy of package.json, tsconfig.json, local/, shared/, functions/ and web/ with node_modules linked, so the figures include npm and tsx start-up exactly as a developer sees them.',
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = {
  name: 'p6',
  title: '`npm start` until healthy, cold and warm',
  baseline: 'none: absolute goals (10 s cold, 3 s warm).',
  run,
};
