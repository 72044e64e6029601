/**
 * Building a function's dependencies is asynchronous (drivers are loaded with dynamic imports) and must happen once
 * per container. `lazyHandler` builds on the first invocation and reuses the result; a failed build is not cached,
 * so a container whose first invocation hit a transient fault recovers on the next one.
 */
import { withInvocation } from '../retry.js';

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
 * A Lambda handler that builds the real handler on first use. Each invocation runs with its context known to the
 * retry policy (shared/retry.ts), so retries end before the function's timeout.
 */
export function lazyHandler<E, C, R>(build: () => Promise<(event: E, context: C) => Promise<R>>): (event: E, context: C) => Promise<R> {
  const get = once(build);
  return (event, context) => withInvocation(context, async () => (await get())(event, context));
}
