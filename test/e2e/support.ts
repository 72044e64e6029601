/**
 * What the browser suites share: Debian's Chromium driven by playwright-core (no browser download), the web console
 * built into web/dist (the folder the local stack serves), and the local stack on a fixed free port — the local S3
 * allows CORS only from the API's own origin, and that origin is known only for a port chosen before start.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startLocalStack, repositoryRoot, type LocalStack, type SchemaMode } from '../../local/stack.js';
import { createLogger, type LogFields } from '../../shared/log.js';
import { buildConsole } from '../../web/build.js';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const resultsDir = join(repositoryRoot, 'test-results');
export const MiB = 1024 * 1024;

/** Why the browser suites cannot run here, or null when they can. */
export function missingBrowser(): string | null {
  return existsSync(chromiumPath) ? null : `Chromium is not installed at ${chromiumPath} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let built: Promise<unknown> | undefined;

/** Builds the console once per run, into the folder the stack serves. */
export function ensureConsoleBuilt(): Promise<unknown> {
  built ??= buildConsole();
  return built;
}

export interface ConsoleStack {
  readonly stack: LocalStack;
  readonly logs: LogFields[];
  dispose(): Promise<void>;
}

export async function startConsoleStack(options: { schema?: SchemaMode; multipartThresholdBytes?: number } = {}): Promise<ConsoleStack> {
  await ensureConsoleBuilt();
  const s3Dir = await mkdtemp(join(tmpdir(), 'reelay-e2e-s3-'));
  const logs: LogFields[] = [];
  const stack = await startLocalStack({
    port: await freePort(),
    schema: options.schema ?? 'latest',
    dataDir: null,
    s3Dir,
    mux: 'emulator',
    environment: {},
    lambdaEnv: options.multipartThresholdBytes ? { MULTIPART_THRESHOLD_BYTES: String(options.multipartThresholdBytes) } : {},
    reconcileIntervalMs: 0,
    muxProcessingDelayMs: 20,
    logger: createLogger({ level: 'warn', sink: (line) => logs.push(JSON.parse(line) as LogFields) }),
  });
  return {
    stack,
    logs,
    async dispose() {
      await stack.stop();
      await rm(s3Dir, { recursive: true, force: true });
    },
  };
}

export interface Browser {
  readonly context: BrowserContext;
  /** Uncaught errors in any page, for assertions and failure messages. */
  readonly pageErrors: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'reelay-e2e-chromium-'));
  await mkdir(resultsDir, { recursive: true });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const pageErrors: string[] = [];
  context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`)));
  return {
    context,
    pageErrors,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the page the way a developer does: a token from `npm run token`, pasted. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#signed-in-as').waitFor();
}

export const screenshot = (page: Page, name: string) => page.screenshot({ path: join(resultsDir, `${name}.png`), fullPage: true });
