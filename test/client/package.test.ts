/**
 * `reelay/client` as an app gets it: built to one ES module with declarations, importable by the package name,
 * without dependencies, and typed for a consumer compiled with TypeScript's Node resolution.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, clientDist } from '../../client/build.js';
import { repositoryRoot } from '../../local/stack.js';

const run = promisify(execFile);

describe('the client package', () => {
  let consumerDir: string;

  beforeAll(async () => {
    await buildClient();
    // An app that installed reelay: its node_modules/reelay is this repository.
    consumerDir = await mkdtemp(join(tmpdir(), 'reelay-client-consumer-'));
    await mkdir(join(consumerDir, 'node_modules'));
    await symlink(repositoryRoot, join(consumerDir, 'node_modules', 'reelay'), 'dir');
    await writeFile(join(consumerDir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  }, 60_000);
  afterAll(() => rm(consumerDir, { recursive: true, force: true }));

  it('is one module that imports nothing', async () => {
    const bundle = await readFile(join(clientDist, 'index.js'), 'utf8');
    expect(bundle).not.toMatch(/^\s*import\s/m);
    expect(bundle).not.toMatch(/\brequire\(/);
  });

  it('imports by its package name in a fresh Node process', async () => {
    const script = "const m = await import('reelay/client'); console.log(JSON.stringify(Object.keys(m).sort()));";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: consumerDir });
    expect(JSON.parse(stdout)).toEqual(expect.arrayContaining(['ReelayClient', 'ReelayApiError', 'MemoryResumeStore', 'LocalStorageResumeStore', 'UploadAbortedError', 'fetchTransport', 'xhrTransport']));
  });

  it('gives a TypeScript consumer its types', async () => {
    await writeFile(
      join(consumerDir, 'app.ts'),
      [
        "import { ReelayClient, type Video } from 'reelay/client';",
        "const client = new ReelayClient({ baseUrl: 'http://localhost:3000', token: () => 'token' });",
        'export async function titles(): Promise<string[]> {',
        '  const page = await client.listVideos({ limit: 5 });',
        '  return page.videos.map((video: Video) => video.title);',
        '}',
        // A wrong field must not compile: the consumer's check below proves the types are real, not `any`.
        '// @ts-expect-error: a video has no `name`',
        'export const wrong = (video: Video) => video.name;',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(consumerDir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: [], lib: ['ES2023', 'DOM'] }, files: ['app.ts'] }),
    );
    const tsc = join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const outcome = await run(process.execPath, [tsc, '-p', consumerDir]).then(() => 'compiled', (error: { stdout?: string }) => error.stdout ?? String(error));
    expect(outcome).toBe('compiled');
  }, 60_000);
});
