/**
 * What the browser suites share: Debian's Chromium driven by playwright-core (no browser download), the web console
 * built into web/dist (the folder the local stack serves), and the local stack on a fixed free port — the local S3
 * allows CORS only from the API's own origin, and that origin is known only for a port chosen before start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startLocalStack, repositoryRoot, type LocalStack, type SchemaMode } from '../../local/stack.js';
import { createLogger, type LogFields } from '../../shared/log.js';
import { buildConsoleIfStale } from '../../web/build.js';

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

/**
 * Builds the console into the folder the stack serves, once per test file, and only when its sources changed since
 * the last build (the digest `npm start` uses): the files of a run do not each pay for the same build.
 */
export function ensureConsoleBuilt(): Promise<unknown> {
  built ??= buildConsoleIfStale();
  return built;
}

export interface ConsoleStack {
  readonly stack: LocalStack;
  readonly logs: LogFields[];
  dispose(): Promise<void>;
}

export interface ConsoleStackOptions {
  readonly schema?: SchemaMode;
  readonly multipartThresholdBytes?: number;
  /** More of the functions' environment (MUX_PLAYBACK_POLICY, say). */
  readonly lambdaEnv?: Readonly<Record<string, string>>;
}

export async function startConsoleStack(options: ConsoleStackOptions = {}): Promise<ConsoleStack> {
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
    lambdaEnv: {
      ...(options.multipartThresholdBytes && { MULTIPART_THRESHOLD_BYTES: String(options.multipartThresholdBytes) }),
      ...options.lambdaEnv,
    },
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

/** The two widths every view is checked at: a desktop window, and a phone's (390 CSS px, an iPhone 12–15). */
export const viewports = {
  desktop: { width: 1280, height: 900 },
  mobile: { width: 390, height: 844 },
} as const;

export interface Browser {
  readonly context: BrowserContext;
  /** Uncaught errors in any page, for assertions and failure messages. */
  readonly pageErrors: string[];
  /** Every request a page made to anything but this machine (none reaches it: such names do not resolve here). */
  readonly offMachineRequests: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'reelay-e2e-chromium-'));
  await mkdir(resultsDir, { recursive: true });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // The console loads nothing from elsewhere: a request that tries is recorded, and fails at name resolution.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
    viewport: { ...viewports.desktop },
  });
  const pageErrors: string[] = [];
  const offMachineRequests: string[] = [];
  context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`)));
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (/^(https?|wss?):$/.test(url.protocol) && !['127.0.0.1', 'localhost'].includes(url.hostname)) offMachineRequests.push(request.url());
  });
  return {
    context,
    pageErrors,
    offMachineRequests,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the page the way a developer does: a token from `npm run token`, pasted. `url` may name a view (`…/#/admin`). */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#signed-in-as').waitFor();
}


const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Impacts that fail a view: axe's two highest. */
const failingImpacts = new Set(['serious', 'critical']);

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: ReadonlyArray<{ readonly target: unknown; readonly failureSummary?: string }>;
}

/**
 * Checks the page as it is now at both widths: axe-core's rules (WCAG 2.x A and AA, and its best practices) with no
 * serious or critical violation, and a full-page screenshot of each (`test-results/<name>-desktop.png`, `-mobile.png`).
 * Throws with every such violation described (rule, impact, elements), after both screenshots are taken.
 */
export async function checkView(page: Page, name: string): Promise<void> {
  const found: string[] = [];
  for (const [label, size] of Object.entries(viewports)) {
    await page.setViewportSize(size);
    // Evaluated through the debugging protocol, not a <script>: no page policy can refuse it.
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
      const { violations } = await axe.run(document, { resultTypes: ['violations'] });
      return violations.map(({ id, impact, help, nodes }) => ({ id, impact, help, nodes: nodes.map(({ target, failureSummary }) => ({ target, failureSummary })) }));
    });
    for (const violation of violations.filter((item) => failingImpacts.has(item.impact ?? ''))) {
      const where = violation.nodes.map((node) => `${JSON.stringify(node.target)}: ${node.failureSummary ?? ''}`).join('; ');
      found.push(`${name} (${label}): ${violation.impact} ${violation.id} — ${violation.help} — ${where}`);
    }
    await page.screenshot({ path: join(resultsDir, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(viewports.desktop);
  if (found.length > 0) throw new Error(`accessibility violations:\n${found.join('\n')}`);
}

/** The id of the library card titled `title`, once the library lists it. */
export async function videoIdByTitle(page: Page, title: string): Promise<string> {
  const card = page.locator('#video-list > li', { has: page.locator('h3', { hasText: title }) });
  await card.waitFor();
  const id = await card.getAttribute('data-video-id');
  if (!id) throw new Error(`the card for "${title}" has no video id`);
  return id;
}
