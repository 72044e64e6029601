/**
 * POST /api/webhooks/mux (public: the Mux signature is the authentication). Verifies, deduplicates and applies the
 * event (shared/videos/webhook-service.ts): 200 once it is recorded (applied, ignored, about an asset no video owns,
 * or correctly signed but unusable and recorded as rejected), 204 for an event already recorded, 401 for a missing,
 * forged, stale or altered signature, 5xx only when nothing could be stored (Mux then retries for 24 h).
 */
import type { Driver } from '../../shared/db/driver.js';
import { httpHandler, route, type HttpHandler } from '../../shared/http/index.js';
import type { Logger } from '../../shared/log.js';
import { functionDatabase, functionLogger, httpDataApiRetry } from '../../shared/runtime/database.js';
import { lazyHandler, once, type Env } from '../../shared/runtime/lazy.js';
import { muxFromEnv } from '../../shared/runtime/mux.js';
import { CaptionsService } from '../../shared/videos/captions-service.js';
import { WebhookService } from '../../shared/videos/webhook-service.js';

export interface MuxWebhookHandlerOptions {
  readonly logger?: Logger;
  /** Use this driver instead of the one the environment describes (tests on an in-memory database). */
  readonly driver?: Driver;
  /** The clock signatures are checked against, ms. */
  readonly now?: () => number;
}

/** Mux event bodies are small; anything near this is not from Mux. */
const maxWebhookBytes = 256 * 1024;

export async function createHandler(env: Env = process.env, options: MuxWebhookHandlerOptions = {}): Promise<HttpHandler> {
  const logger = functionLogger(env, 'mux-webhook', options);
  const { videos } = await functionDatabase(env, logger, options, httpDataApiRetry);
  const mux = muxFromEnv(env);
  // Only caption tracks need S3: its SDK is loaded on the first one, not at cold start.
  const storage = once(async () => (await import('../../shared/runtime/storage.js')).storageFromEnv(env).storage);
  const captions = new CaptionsService({ storage, urls: mux.urls, playbackPolicy: mux.config.playbackPolicy, signingKey: () => mux.config.loadSigningKey(), logger });
  const webhooks = new WebhookService({ videos, mux, captions, logger, ...(options.now ? { now: options.now } : {}) });
  return httpHandler({
    name: 'mux-webhook',
    logger,
    maxBodyBytes: maxWebhookBytes,
    routes: {
      'POST /api/webhooks/mux': route({
        auth: 'none',
        handle: async ({ rawBody, headers }) => {
          const outcome = await webhooks.handle(rawBody, headers);
          return outcome.result === 'duplicate' ? { status: 204 } : { status: 200, body: outcome };
        },
      }),
    },
  });
}

export const handler = lazyHandler(() => createHandler(process.env));
