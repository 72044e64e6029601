/**
 * GET /api/database/health — public liveness: the API, its routing and this function answer. Nothing else.
 *
 * Why no database call: the route is public, so anyone can call it as often as the throttle lets them. One Data API
 * call per request would let anyone keep a 0-ACU Aurora Serverless v2 cluster awake for good (every call resumes it
 * and resets its auto-pause timer) and spend the Data API's and the stage's request budget. So this function has no
 * database access at all (no `database` in its `uses`, no secret, no driver in its bundle), and its route has its own
 * low throttle in API Gateway (functions/routes.json). It reveals nothing: no schema version, no pending migrations,
 * no columns, no configuration.
 *
 * The full check — database reachability and latency, schema version, pending migrations, Mux columns, Mux
 * configuration — is `GET /api/database/health/details`, for the admin group (functions/admin/handler.ts).
 */
import type { Env } from '../../shared/config/reader.js';
import { httpHandler, route } from '../../shared/http/handler.js';
import type { HttpLambdaHandler } from '../../shared/http/types.js';
import { createLogger, logLevelFrom } from '../../shared/log.js';
import type { FunctionOptions } from '../../shared/runtime/config.js';
import { lazyHandler } from '../../shared/runtime/lazy.js';

export interface LivenessBody {
  readonly status: 'ok';
}

export type HealthHandlerOptions = FunctionOptions;

export async function createHandler(env: Env, options: HealthHandlerOptions = {}): Promise<HttpLambdaHandler> {
  // LOG_LEVEL is the one variable this function reads (its whole FunctionConfig); functionLogger is written out
  // here, as shared/runtime/config.ts's parse would cost the smallest bundle bytes it does not need.
  const logger = (options.logger ?? createLogger({ level: logLevelFrom(env) })).child({ function: 'health' });
  const body: LivenessBody = { status: 'ok' };
  return httpHandler({
    name: 'health',
    logger,
    routes: {
      'GET /api/database/health': route({ auth: 'none', handle: async () => ({ status: 200, body }) }),
    },
  });
}

export const handler = lazyHandler(() => createHandler(process.env));
