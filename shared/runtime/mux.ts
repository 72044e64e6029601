/**
 * Mux as a function uses it, built from the environment. The config is read at once (a bad MUX_* value fails the
 * cold start loudly); the SDK and its credentials only on first use, because in AWS the credentials come from the
 * Parameters and Secrets extension, which answers during an invocation and not during INIT.
 */
import { assetBinder, type AssetBinder } from '../mux/binding.js';
import { muxConfigFromEnv, type MuxConfig, type MuxConfigOptions } from '../mux/config.js';
import type { MuxGateway } from '../mux/client.js';
import { muxUrls, type MuxUrls } from '../mux/urls.js';
import { once, type Env } from './lazy.js';
import { wholeNumberFromEnv } from './env.js';

export interface MuxRuntimeOptions extends MuxConfigOptions {
  /**
   * SDK retries per call. Default 0: the callers (SQS redelivery, Mux's webhook retries, the reconcile schedule)
   * retry at a level that knows what is safe to repeat, and a blind SDK retry of a timed-out `create asset` would
   * make a second asset.
   */
  readonly maxRetries?: number;
  /** Per request, ms. Default MUX_TIMEOUT_MS or 20 s. */
  readonly timeoutMs?: number;
}

export interface MuxRuntime {
  readonly config: MuxConfig;
  readonly urls: MuxUrls;
  /** The gateway, built once per container on first call (a failed build is retried on the next call). */
  gateway(): Promise<MuxGateway>;
  /** Signs and verifies asset passthroughs with the binding key, read once per container on first call. */
  binding(): Promise<AssetBinder>;
}

export function muxFromEnv(env: Env, options: MuxRuntimeOptions = {}): MuxRuntime {
  const config = muxConfigFromEnv(env, options);
  const timeout = options.timeoutMs ?? wholeNumberFromEnv(env, 'MUX_TIMEOUT_MS') ?? 20_000;
  return {
    config,
    urls: muxUrls(config),
    // A dynamic import keeps the SDK out of the cold start until a Mux call is actually made.
    gateway: once(async () => {
      const { muxGatewayFromConfig } = await import('../mux/client.js');
      return muxGatewayFromConfig(config, { maxRetries: options.maxRetries ?? 0, timeout });
    }),
    binding: once(async () => assetBinder(await config.loadBindingKey())),
  };
}
