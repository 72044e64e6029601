/**
 * The local stack (local/stack.ts) for end-to-end suites: one per file, on a fresh in-memory PGlite (or a throwaway
 * PostgreSQL database), a temporary S3 folder, the Mux emulator, free ports — and small helpers that talk to it the
 * way a client does, over HTTP with fetch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type LogFields } from '../../shared/log.js';
import { startLocalStack, type LocalStack, type LocalStackOptions, type SchemaMode } from '../../local/stack.js';
import type { MuxEmulator } from '../../local/mux-emulator/server.js';
import { openTestDatabase, type BackendName } from './databases.js';

export interface TestStackOptions {
  readonly backend?: BackendName;
  readonly schema?: SchemaMode;
  readonly lambdaEnv?: LocalStackOptions['lambdaEnv'];
  readonly s3MinPartBytes?: number;
  /** The SQS stand-in's redelivery delay (default 50 ms here) and redrive limit. */
  readonly sqs?: LocalStackOptions['sqs'];
  readonly adminGroup?: string;
  readonly routeScopes?: LocalStackOptions['routeScopes'];
  /** The local EventBridge's forward rule URL (EVENTS_FORWARD_URL is never read from the shell here) and retries. */
  readonly eventBridge?: LocalStackOptions['eventBridge'];
  /** Origins CORS allows beside the stack's own (CORS_ORIGINS is never read from the shell here). */
  readonly corsOrigins?: readonly string[];
  /** Reconcile on a schedule, as EventBridge runs it (default 0: only when a test invokes it). */
  readonly reconcileIntervalMs?: number;
}

export interface ApiResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body; `undefined` for an empty body. */
  readonly body: T;
  readonly text: string;
}

export interface RequestOptions {
  readonly token?: string;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent as is (e.g. malformed JSON); content type defaults to application/json. */
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

export interface TestStack extends LocalStack {
  readonly muxEmulator: MuxEmulator;
  /** Everything the stack and its functions logged (info and above), for assertions and failure diagnosis. */
  readonly logs: LogFields[];
  request<T = Record<string, unknown>>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  dispose(): Promise<void>;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const database = await openTestDatabase(options.backend ?? 'pglite');
  const s3Dir = await mkdtemp(join(tmpdir(), 'reelay-stack-s3-'));
  const logs: LogFields[] = [];
  // REELAY_STACK_LOGS=1 also prints them, to watch a failing suite.
  const echo = process.env.REELAY_STACK_LOGS === '1';
  const logger = createLogger({
    level: 'info',
    sink: (line) => {
      logs.push(JSON.parse(line) as LogFields);
      if (echo) process.stderr.write(`${line}\n`);
    },
  });
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      port: 0,
      schema: options.schema ?? 'latest',
      database: database.connection,
      s3Dir,
      mux: 'emulator',
      // Nothing from the developer's shell (DATABASE_URL, MUX_*) leaks into the stack under test.
      environment: {},
      lambdaEnv: options.lambdaEnv ?? {},
      reconcileIntervalMs: options.reconcileIntervalMs ?? 0,
      muxProcessingDelayMs: 10,
      sqs: { visibilityTimeoutMs: 50, ...options.sqs },
      ...(options.s3MinPartBytes !== undefined && { s3MinPartBytes: options.s3MinPartBytes }),
      ...(options.adminGroup !== undefined && { adminGroup: options.adminGroup }),
      ...(options.routeScopes !== undefined && { routeScopes: options.routeScopes }),
      ...(options.eventBridge !== undefined && { eventBridge: options.eventBridge }),
      ...(options.corsOrigins !== undefined && { corsOrigins: options.corsOrigins }),
      logger,
    });
  } catch (error) {
    await database.dispose();
    await rm(s3Dir, { recursive: true, force: true });
    throw error;
  }
  const muxEmulator = stack.muxEmulator;
  if (!muxEmulator) throw new Error('the test stack must run the Mux emulator');

  async function request<T>(method: string, path: string, requestOptions: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...requestOptions.headers };
    if (requestOptions.token) headers.authorization = `Bearer ${requestOptions.token}`;
    let body: string | undefined;
    if (requestOptions.json !== undefined) body = JSON.stringify(requestOptions.json);
    if (requestOptions.body !== undefined) body = requestOptions.body;
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${stack.url}${path}`, { method, headers, ...(body !== undefined && { body }) });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  return Object.assign(stack, {
    muxEmulator,
    logs,
    request,
    async dispose() {
      await stack.stop();
      await database.dispose();
      await rm(s3Dir, { recursive: true, force: true });
    },
  });
}

/** Polls until `check` returns a value (not undefined), or fails with the last thing seen. */
export async function eventually<T>(check: () => Promise<T | undefined>, describe: () => string, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
