/**
 * Every shell and TypeScript block in README.md and docs/*.md is run, or says why not.
 *
 * The blocks of all the files run in one bash session, in order (README.md, then docs/ by name), as a reader pastes
 * them into a second terminal while `npm start` runs in the first: variables and files carry from block to block,
 * and the first failing command fails the test with its block's file and line. The test only stands in for that
 * first terminal: it starts `npm start` before the first block, and a block marked
 * `<!-- snippet: starts-stack -->` (`MUX_PLAYBACK_POLICY=signed npm start`, `npm start -- --schema=legacy`) stops the
 * stack and runs the block in its place, as the reader would after Ctrl-C. The stack runs on a free port, with its
 * state in a temporary REELAY_LOCAL_DIR (never the developer's `.local/`), so `127.0.0.1:3000`/`:3001` in a block
 * become that port and the next.
 *
 * A block that cannot run here says so with `<!-- snippet: not-run: <reason> -->` on the line before it (AWS
 * credentials, a deploy, a browser); those are listed, and any other block that did not run fails the test.
 * docs/DEPLOY.md's client snippets run against the local stack as against a deployed one: `output ApiUrl` answers
 * the local API and `TOKEN` is an admin's token, standing in for the AWS steps marked not-run before them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../local/stack.js';

const runnable = new Set(['sh', 'bash', 'shell', 'console', 'ts', 'typescript', 'js', 'javascript']);

interface Block {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  /** `not-run: …`, `starts-stack`, `expect: <regular expression>` (run, and its output must match), or undefined (run). */
  readonly marker: string | undefined;
}

function blocksOf(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^```(\S*)/.exec(lines[i] as string);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !/^```\s*$/.test(lines[i] as string); i += 1) body.push(lines[i] as string);
    let before = start - 1;
    while (before >= 0 && (lines[before] as string).trim() === '') before -= 1;
    const marker = /^<!-- snippet: (.+?) -->$/.exec((lines[before] ?? '').trim())?.[1];
    blocks.push({ file, line: start + 1, lang: open[1] ?? '', code: body.join('\n'), marker });
  }
  return blocks;
}

async function docsBlocks(): Promise<Block[]> {
  const docs = (await readdir(join(repositoryRoot, 'docs'))).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`);
  const all: Block[] = [];
  for (const file of ['README.md', ...docs]) all.push(...blocksOf(file, await readFile(join(repositoryRoot, file), 'utf8')));
  return all.filter((block) => runnable.has(block.lang));
}

/** A port whose next four (the stack's helpers) are free too. */
async function freePortRun(): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const checks = await Promise.all([0, 1, 2, 3, 4].map((offset) => isFree(port + offset)));
    if (checks.every(Boolean)) return port;
  }
}

const localPorts = (code: string, port: number) =>
  code.replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`).replaceAll('127.0.0.1:3001', `127.0.0.1:${port + 1}`);

/** The session: helpers, then each block, each announced so the output says which ran and where one failed. */
function sessionScript(blocks: readonly Block[], port: number): string {
  const parts = [
    'set -eE -o pipefail',
    `REPO=${JSON.stringify(repositoryRoot)}`,
    'STACK_PID=""',
    // The first terminal: npm start (or a starts-stack block) in a process group of its own, its output in a file.
    'stop_stack() { if [ -n "$STACK_PID" ]; then kill -TERM -- "-$STACK_PID" 2>/dev/null || true; wait "$STACK_PID" 2>/dev/null || true; STACK_PID=""; fi; }',
    'start_stack() {',
    '  stop_stack; (cd "$REPO" && exec setsid bash -c "$1") >>"$REELAY_LOCAL_DIR/stack.log" 2>&1 & STACK_PID=$!',
    `  for _ in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:${port}/api/database/health && grep -q 'Ctrl-C stops everything' "$REELAY_LOCAL_DIR/stack.log" && return 0; kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.2; done`,
    '  echo "the stack did not start:" >&2; tail -n 30 "$REELAY_LOCAL_DIR/stack.log" >&2; return 1',
    '}',
    'trap stop_stack EXIT',
    'trap \'echo "snippet failed: $BLOCK (exit $?, at: $BASH_COMMAND)" >&2\' ERR',
    // What the AWS steps before docs/DEPLOY.md's client snippets would have given the reader.
    `output() { case "$1" in ApiUrl) echo http://127.0.0.1:${port} ;; *) echo "output $1: no local stand-in" >&2; return 1 ;; esac; }`,
    'BLOCK="npm start"; start_stack "npm start"',
  ];
  let file = '';
  for (const block of blocks) {
    if (block.file !== file) {
      file = block.file;
      // A reader opens each document in the repository folder (the README asks for it); the others' files go to a scratch folder.
      parts.push(
        file === 'README.md'
          ? 'cd "$REPO"'
          : 'TOKEN=$(cd "$REPO" && npm run -s token -- --sub ops --admin); cd "$(mktemp -d -p "$REELAY_LOCAL_DIR")"',
      );
    }
    const id = `${block.file}:${block.line}`;
    // On a line of its own even after output without a final newline.
    parts.push(`BLOCK=${JSON.stringify(id)}; printf '\\n::block %s\\n' ${JSON.stringify(id)}`);
    if (block.marker === 'starts-stack') parts.push(`start_stack ${shellQuote(localPorts(block.code, port))}`);
    else parts.push(localPorts(block.code, port));
  }
  parts.push(`printf '\\n::done\\n'`);
  return `${parts.join('\n')}\n`;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function runBash(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n(timed out after ${timeoutMs} ms)\n`;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the docs’ code blocks', async () => {
  const blocks = await docsBlocks();
  const notRun = blocks.filter((block) => block.marker?.startsWith('not-run:'));
  const toRun = blocks.filter((block) => !block.marker?.startsWith('not-run:'));
  const expectation = (block: Block) => (block.marker?.startsWith('expect: ') ? new RegExp(block.marker.slice('expect: '.length), 'm') : undefined);
  let stateDir: string | undefined;

  afterAll(async () => {
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  });

  it('mark every block they do not run, with a reason, and nothing else', () => {
    const unknown = blocks.filter((block) => block.marker !== undefined && block.marker !== 'starts-stack' && !/^(not-run|expect): \S/.test(block.marker));
    expect(unknown.map((block) => `${block.file}:${block.line} ${block.marker}`)).toEqual([]);
    // Shown in the run's output: what is left to the reader, and why.
    for (const block of notRun) process.stdout.write(`not run: ${block.file}:${block.line} (${block.marker?.slice('not-run: '.length)})\n`);
    expect(toRun.filter((block) => !['sh', 'bash', 'shell', 'console'].includes(block.lang)).map((block) => `${block.file}:${block.line}`)).toEqual([]);
  });

  it('run every other block against npm start, in one session', async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'reelay-docs-'));
    const port = await freePortRun();
    const script = sessionScript(toRun, port);
    await writeFile(join(stateDir, 'session.sh'), script);
    const { MUX_TOKEN_ID: _id, MUX_TOKEN_SECRET: _secret, DATABASE_URL: _url, CORS_ORIGINS: _cors, EVENTS_FORWARD_URL: _forward, ...inherited } = process.env;
    const { code, output } = await runBash(script, { ...inherited, PORT: String(port), REELAY_LOCAL_DIR: stateDir, CORS_ORIGINS: 'http://localhost:5173' }, 900_000);
    const tail = output.split('\n').slice(-60).join('\n');
    expect(code, tail).toBe(0);
    expect(output, tail).toContain('::done');
    // What each block printed, by its id.
    const printed = new Map<string, string>();
    const pieces = output.split(/^::block (\S+)$/m);
    for (let i = 1; i < pieces.length; i += 2) printed.set(pieces[i] as string, (pieces[i + 1] ?? '').split(/^::done$/m)[0] as string);
    expect(toRun.map((block) => `${block.file}:${block.line}`).filter((id) => !printed.has(id))).toEqual([]);
    const mismatches = toRun.flatMap((block) => {
      const expected = expectation(block);
      const id = `${block.file}:${block.line}`;
      const text = printed.get(id) ?? '';
      return expected === undefined || expected.test(text) ? [] : [`${id} printed ${JSON.stringify(text.slice(-800))}, expected ${String(expected)}`];
    });
    expect(mismatches).toEqual([]);
  }, 960_000);
});
