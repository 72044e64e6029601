/**
 * The functions as Lambda runs them: each built from its entry file's `createHandler(env)` on its first invocation
 * (INIT), a failed build tried again by the next one; the rest built in the background after start; the reconcile
 * function on a schedule, never overlapping itself.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import { invocationHandler, once } from '../../shared/runtime/lazy.js';
import { localAccountId, localRegion } from '../api-gateway/event.js';
import type { FunctionDefinition, RouteTable } from '../api-gateway/routes.js';
import { repositoryRoot, type FunctionModule, type LambdaFunction } from './config.js';

async function importFunction(name: string, definition: FunctionDefinition): Promise<FunctionModule> {
  const module = (await import(pathToFileURL(join(repositoryRoot, definition.entry)).href)) as Partial<FunctionModule>;
  if (typeof module.createHandler !== 'function') {
    throw new Error(`${definition.entry} (function "${name}") does not export createHandler(env)`);
  }
  return module as FunctionModule;
}

/**
 * An X-Ray tracing header as Lambda passes one to each invocation (`Root=1-<epoch seconds, hex>-<96 random bits>`),
 * not sampled: there is no X-Ray locally, but log lines carry a trace id the same shape as in AWS.
 */
export function localTraceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}

export function scheduledEvent(): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: localAccountId,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: localRegion,
    resources: [`arn:aws:events:${localRegion}:${localAccountId}:rule/reelay-local-reconcile`],
    detail: {},
  };
}

export class FunctionRegistry {
  readonly #builds = new Map<string, () => Promise<LambdaFunction>>();
  readonly #handlers = new Map<string, LambdaFunction>();
  #envFor: ((name: string) => Record<string, string>) | undefined;
  #warming: Promise<void> | undefined;
  #stopWarming = false;

  constructor(
    private readonly routeTable: RouteTable,
    private readonly logger: Logger,
  ) {}

  /** Set once the servers the functions point at are up; until then an invocation fails (and is redelivered). */
  start(envFor: (name: string) => Record<string, string>): void {
    this.#envFor = envFor;
  }

  /** The function's handler, built on first use. */
  built(name: string): Promise<LambdaFunction> {
    const definition = this.routeTable.functions[name];
    const envFor = this.#envFor;
    if (!definition || !envFor) {
      return Promise.reject(new Error(`the function "${name}" is not running (functions/routes.json, or the stack is still starting)`));
    }
    let build = this.#builds.get(name);
    if (!build) {
      // A failed INIT is tried again by the next invocation, as Lambda does.
      build = once(() => importFunction(name, definition).then((module) => module.createHandler(envFor(name), { logger: this.logger.child({ function: name }) })));
      this.#builds.set(name, build);
    }
    return build();
  }

  /**
   * A handler that builds the function on its first invocation and runs each invocation as Lambda's runtime does
   * (the same wrapper as the deployed entry point's, shared/runtime/lazy.ts): request id, cold start and an X-Ray trace
   * id of its own on every log line, the deadline known to retries.
   */
  handlerFor(name: string): LambdaFunction {
    let handler = this.#handlers.get(name);
    if (!handler) {
      handler = invocationHandler(() => this.built(name), localTraceHeader);
      this.#handlers.set(name, handler);
    }
    return handler;
  }

  /**
   * Builds every function in the background, one at a time, so their first requests do not wait for an import and a
   * broken one shows up in the log at start rather than at its first use.
   */
  warmUp(): void {
    this.#warming = (async () => {
      for (const name of Object.keys(this.routeTable.functions)) {
        if (this.#stopWarming) return;
        await this.built(name).catch((error: unknown) => this.logger.error('local_stack.function_init_failed', { function: name, error }));
      }
    })();
  }

  async stopWarmingUp(): Promise<void> {
    this.#stopWarming = true;
    await this.#warming;
  }
}

/**
 * Runs `invoke` every `intervalMs`; a run that outlasts the interval is not stacked on, as EventBridge with a
 * reserved concurrency of 1 would do. Returns the function that stops the schedule.
 */
export function everyInterval(intervalMs: number, invoke: () => Promise<unknown>, logger: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    invoke()
      .then((result) => logger.info('local_stack.reconcile.done', { result }))
      .catch((error: unknown) => logger.error('local_stack.reconcile.failed', { error }))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
