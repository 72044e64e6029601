/**
 * Building a function's dependencies is asynchronous (drivers are loaded with dynamic imports) and must happen once
 * per container. `lazyHandler` builds on the first invocation and reuses the result; a failed build is not cached,
 * so a container whose first invocation hit a transient fault recovers on the next one.
 */
import { invocationOf, runInvocation } from '../invocation.js';

export function once<T>(factory: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= factory().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/**
 * Runs each invocation of `get()`'s handler as an invocation (shared/invocation.ts): its request id, cold start and
 * X-Ray trace id go on every log line, and the retry policy knows its deadline. `traceHeader` reads the invocation's
 * X-Ray header when it starts (Lambda sets `_X_AMZN_TRACE_ID` per invocation).
 */
export function invocationHandler<E, C, R>(
  get: () => Promise<(event: E, context: C) => Promise<R>>,
  traceHeader: () => string | undefined,
): (event: E, context: C) => Promise<R> {
  let coldStart = true;
  return (event, context) => {
    const invocation = invocationOf(context, { coldStart, traceHeader: traceHeader() });
    coldStart = false;
    return runInvocation(invocation, async () => (await get())(event, context));
  };
}

/** A Lambda handler that builds the real handler on first use (INIT work deferred to the first invocation). */
export function lazyHandler<E, C, R>(build: () => Promise<(event: E, context: C) => Promise<R>>): (event: E, context: C) => Promise<R> {
  return invocationHandler(once(build), () => process.env._X_AMZN_TRACE_ID);
}
