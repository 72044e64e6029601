/**
 * The Lambda invocation a piece of work belongs to: its request id, whether it is the container's first (a cold
 * start), its X-Ray trace id and its remaining time. Clients and services are built once per container, but these
 * belong to the current invocation, so they travel in AsyncLocalStorage: every log line of an invocation carries them
 * (log.ts), and retries end before the function's timeout (retry.ts). AsyncLocalStorage keeps concurrent invocations
 * apart where one process serves several (tests, the local stack).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Invocation {
  readonly requestId: string | undefined;
  readonly coldStart: boolean | undefined;
  /** The `Root` of the invocation's X-Ray trace header, e.g. `1-5759e988-bd862e3fe1be46a994272793`. */
  readonly xrayTraceId: string | undefined;
  readonly remainingMs: (() => number) | undefined;
}

const storage = new AsyncLocalStorage<Invocation>();

export function currentInvocation(): Invocation | undefined {
  return storage.getStore();
}

export function runInvocation<R>(invocation: Invocation, work: () => Promise<R>): Promise<R> {
  return storage.run(invocation, work);
}

/**
 * The trace id in Lambda's `_X_AMZN_TRACE_ID` (`Root=1-…;Parent=…;Sampled=1`, the X-Ray tracing header):
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
 */
export function xrayTraceRoot(header: string | undefined): string | undefined {
  const root = header?.split(';').find((part) => part.trim().startsWith('Root='));
  return root?.trim().slice('Root='.length) || undefined;
}

/** The invocation of a Lambda `context` (anything else gives one without request id or deadline). */
export function invocationOf(context: unknown, details: { readonly coldStart?: boolean; readonly traceHeader?: string } = {}): Invocation {
  const lambda = (typeof context === 'object' && context !== null ? context : {}) as { awsRequestId?: unknown; getRemainingTimeInMillis?: unknown };
  const remaining = lambda.getRemainingTimeInMillis;
  return {
    requestId: typeof lambda.awsRequestId === 'string' ? lambda.awsRequestId : undefined,
    coldStart: details.coldStart,
    xrayTraceId: xrayTraceRoot(details.traceHeader),
    remainingMs: typeof remaining === 'function' ? () => (remaining as () => number).call(context) : undefined,
  };
}

/** The keys a log line written during an invocation carries; none outside one. */
export function invocationLogKeys(): Record<string, unknown> | undefined {
  const invocation = storage.getStore();
  if (invocation === undefined) return undefined;
  const keys: Record<string, unknown> = {};
  if (invocation.requestId !== undefined) keys.requestId = invocation.requestId;
  if (invocation.coldStart !== undefined) keys.coldStart = invocation.coldStart;
  if (invocation.xrayTraceId !== undefined) keys.xrayTraceId = invocation.xrayTraceId;
  return keys;
}
