/**
 * POST /api/webhooks/mux (public: the Mux signature is the authentication). Verifies, deduplicates and applies the
 * event (shared/videos/webhook-service.ts): 200 once it is recorded (applied, ignored, about an asset no video owns,
 * or correctly signed but unusable and recorded as rejected), 204 for an event already recorded, 401 for a missing,
 * forged, stale or altered signature, 5xx only when nothing could be stored (Mux then retries for 24 h).
 */
import type { Env } from '../../shared/config/reader.js';
import { httpHandler, route, type HttpHandler } from '../../shared/http/index.js';
import type { CountMetric } from '../../shared/metrics.js';
import { muxSettingsFromEnv, type MuxSettings } from '../../shared/mux/config.js';
import { WebhookSignatureError } from '../../shared/mux/webhooks.js';
import { functionConfigFromEnv, functionLogger, functionMetrics, type FunctionConfig } from '../../shared/runtime/config.js';
import { databaseConfigFromEnv, functionDatabase, functionPendingWork, httpDataApiRetry, type DatabaseConfig, type DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import { lazyHandler } from '../../shared/runtime/lazy.js';
import { muxRuntime } from '../../shared/runtime/mux.js';
import { storageOnDemand } from '../../shared/runtime/storage-on-demand.js';
import { optionalStorageSettingsFromEnv, type StorageSettings } from '../../shared/storage/config.js';
import { pendingWorkSettingsFromEnv, type PendingWorkNotes, type PendingWorkSettings } from '../../shared/storage/pending-work.js';
import { CaptionsService, type CaptionsResult } from '../../shared/videos/captions-service.js';
import { WebhookService, type WebhookOutcome } from '../../shared/videos/webhook-service.js';
import { eventBusSettingsFromEnv, type EventBusSettings } from '../../shared/events/config.js';
import { functionEventPublishing, type EventFunctionOptions } from '../../shared/runtime/events.js';

export interface MuxWebhookHandlerOptions extends DatabaseFunctionOptions, EventFunctionOptions {
  /** The clock signatures are checked against, ms. */
  readonly now?: () => number;
}

/** Everything the mux-webhook function reads from its environment, parsed once at cold start. */
export interface MuxWebhookConfig extends FunctionConfig {
  readonly database: DatabaseConfig;
  readonly mux: MuxSettings;
  /** Only caption tracks need the bucket; undefined when UPLOAD_BUCKET is unset. */
  readonly storage: StorageSettings | undefined;
  /** PENDING_WORK_BUCKET: where an errored asset, a rejected event or missing captions note work for reconcile. */
  readonly pendingWork: PendingWorkSettings | undefined;
  /** EVENT_BUS_NAME: where the lifecycle changes this function makes are announced (unset: recorded only). */
  readonly events: EventBusSettings | undefined;
}

export function muxWebhookConfigFromEnv(env: Env): MuxWebhookConfig {
  return {
    ...functionConfigFromEnv(env),
    database: databaseConfigFromEnv(env),
    mux: muxSettingsFromEnv(env),
    storage: optionalStorageSettingsFromEnv(env),
    pendingWork: pendingWorkSettingsFromEnv(env),
    events: eventBusSettingsFromEnv(env),
  };
}

/** Captions whose transcript or SRT did not arrive within the webhook's budget are completed by reconcile: noted. */
class NotingCaptionsService extends CaptionsService {
  readonly #pendingWork: PendingWorkNotes;

  constructor(options: ConstructorParameters<typeof CaptionsService>[0], pendingWork: PendingWorkNotes) {
    super(options);
    this.#pendingWork = pendingWork;
  }

  override async collect(...args: Parameters<CaptionsService['collect']>): Promise<CaptionsResult | null> {
    const result = await super.collect(...args);
    if (result !== null && result.missing.length > 0) await this.#pendingWork.note('webhook', { videoId: args[0], missing: result.missing.join(',') });
    return result;
  }
}

/** Outcomes reconcile may act on: an errored asset (retry-errored), an event that could not be stored (recovery). */
function leavesWork(outcome: WebhookOutcome): boolean {
  return outcome.result === 'rejected' || (outcome.result === 'applied' && outcome.type === 'video.asset.errored');
}

/** What each outcome of WebhookService.handle counts as; `not_owned` is an event for an asset reelay does not know. */
const webhookMetric: Record<WebhookOutcome['result'], CountMetric> = {
  applied: 'WebhooksApplied',
  ignored: 'WebhooksIgnored',
  duplicate: 'WebhooksDuplicate',
  rejected: 'WebhooksRejected',
  not_owned: 'WebhooksUnknownAsset',
};

/** Mux event bodies are small; anything near this is not from Mux. */
const maxWebhookBytes = 256 * 1024;

export async function createHandler(env: Env, options: MuxWebhookHandlerOptions = {}): Promise<HttpHandler> {
  const config = muxWebhookConfigFromEnv(env);
  const logger = functionLogger(config, 'mux-webhook', options);
  const metrics = functionMetrics(logger, 'mux-webhook', options);
  const pendingWork = functionPendingWork(config.pendingWork, logger, options);
  const events = functionEventPublishing(config.events, config.mux.playbackPolicy, logger, options);
  const { videos } = await functionDatabase(config.database, logger, options, { dataApiRetry: httpDataApiRetry, metrics, pendingWork, events });
  const mux = muxRuntime(config.mux);
  // Only caption tracks need S3: its SDK is loaded on the first one, not at cold start.
  const storage = storageOnDemand(config.storage);
  const captions = new NotingCaptionsService({ storage, urls: mux.urls, playbackPolicy: mux.config.playbackPolicy, signingKey: () => mux.config.loadSigningKey(), logger }, pendingWork);
  const webhooks = new WebhookService({ videos, mux, captions, logger, ...(options.now ? { now: options.now } : {}) });
  return httpHandler({
    name: 'mux-webhook',
    logger,
    maxBodyBytes: maxWebhookBytes,
    routes: {
      'POST /api/webhooks/mux': route({
        auth: 'none',
        handle: async ({ rawBody, headers }) => {
          let outcome: WebhookOutcome;
          try {
            outcome = await webhooks.handle(rawBody, headers);
          } catch (error) {
            if (error instanceof WebhookSignatureError) metrics.count('WebhooksRefused', 1, { properties: { reason: error.reason } });
            throw error;
          }
          metrics.count(webhookMetric[outcome.result], 1, { properties: { eventId: outcome.eventId, type: outcome.type } });
          if (leavesWork(outcome)) await pendingWork.note('webhook', { eventId: outcome.eventId, type: outcome.type, result: outcome.result });
          return outcome.result === 'duplicate' ? { status: 204 } : { status: 200, body: outcome };
        },
      }),
    },
  });
}

export const handler = lazyHandler(() => createHandler(process.env));
