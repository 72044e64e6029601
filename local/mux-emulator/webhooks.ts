/**
 * Webhooks as Mux sends them: an event envelope built when the step happens, signed (`mux-signature`) at each
 * attempt, POSTed to the webhook URL and retried on a non-2xx or timeout (bounded, with short delays). Every attempt
 * is recorded in the store's deliveries.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import { errorMessage, sleep } from './http.js';
import { muxSignatureHeader } from './signing.js';
import type { EmulatorStore } from './store.js';
import type { EmulatedAsset, WebhookDelivery } from './types.js';

export interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  readonly assetId: string;
  readonly body: string;
}

/** Builds the envelope now, so its data is the asset as it is at this step even if delivered later. */
export function prepareEvent(type: string, asset: EmulatedAsset, data: unknown, now: () => number): PreparedEvent {
  const id = randomUUID();
  const envelope = {
    type,
    object: { type: 'asset', id: asset.id },
    id,
    environment: { name: 'Emulator', id: 'emulator' },
    data,
    created_at: new Date(now()).toISOString(),
    attempts: [],
    accessor_source: null,
    accessor: null,
    request_id: null,
  };
  return { id, type, assetId: asset.id, body: JSON.stringify(envelope) };
}

export interface WebhookSenderOptions {
  readonly secret: string;
  /** Delays before each retry; attempts = length + 1. */
  readonly retryDelaysMs: readonly number[];
  /** Per attempt. */
  readonly timeoutMs: number;
  /** The clock that signs. */
  readonly now: () => number;
  readonly logger: Logger;
}

export class WebhookSender {
  /** Where events go; null: recorded as `no_webhook_url`, not sent. */
  webhookUrl: string | null;

  constructor(
    private readonly store: EmulatorStore,
    private readonly options: WebhookSenderOptions,
    webhookUrl: string | null,
  ) {
    this.webhookUrl = webhookUrl;
  }

  async #deliverOnce(event: PreparedEvent, duplicate: boolean): Promise<boolean> {
    const record: WebhookDelivery = { eventId: event.id, type: event.type, assetId: event.assetId, body: event.body, duplicate, attempts: [], outcome: 'pending' };
    this.store.deliveries.push(record);
    for (let attempt = 0; attempt <= this.options.retryDelaysMs.length; attempt += 1) {
      if (attempt > 0) await sleep(this.options.retryDelaysMs[attempt - 1] ?? 0);
      if (this.store.shutdown.signal.aborted) break;
      const url = this.webhookUrl;
      if (!url) {
        record.outcome = 'no_webhook_url';
        return false;
      }
      const signature = muxSignatureHeader(event.body, this.options.secret, Math.floor(this.options.now() / 1000));
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'mux-signature': signature, 'user-agent': 'Mux Webhooks (reelay emulator)' },
          body: event.body,
          signal: this.store.until(this.options.timeoutMs),
        });
        await response.arrayBuffer();
        record.attempts.push({ at: new Date(), status: response.status, signature });
        if (response.ok) {
          record.outcome = 'delivered';
          this.options.logger.debug('mux_emulator.webhook.delivered', { type: event.type, eventId: event.id, status: response.status, attempt: attempt + 1 });
          return true;
        }
        this.options.logger.warn('mux_emulator.webhook.rejected', { type: event.type, eventId: event.id, status: response.status, attempt: attempt + 1 });
      } catch (error) {
        record.attempts.push({ at: new Date(), status: null, error: errorMessage(error), signature });
        this.options.logger.warn('mux_emulator.webhook.unreachable', { type: event.type, eventId: event.id, error: errorMessage(error), attempt: attempt + 1 });
      }
    }
    record.outcome = 'failed';
    return false;
  }

  /** Sends `event` (twice, same id, when the duplicate fault is armed); true when it was delivered. */
  async deliver(event: PreparedEvent): Promise<boolean> {
    const duplicate = this.store.duplicateEvents > 0;
    if (duplicate) this.store.duplicateEvents -= 1;
    const delivered = await this.#deliverOnce(event, false);
    if (duplicate) await this.#deliverOnce(event, true);
    return delivered;
  }
}
