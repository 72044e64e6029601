/**
 * Mux as a function uses it, built from the settings its edge parsed at cold start (a bad MUX_* value fails the
 * cold start loudly); the SDK and its credentials only on first use, because in AWS the credentials come from the
 * Parameters and Secrets extension, which answers during an invocation and not during INIT.
 */
import { assetBinder, type AssetBinder } from '../mux/binding.js';
import type { Env } from '../config/reader.js';
import { muxConfig, muxSettingsFromEnv, type MuxConfig, type MuxConfigOptions, type MuxSettings } from '../mux/config.js';
import type { MuxGateway } from '../mux/client.js';
import { muxUrls, type MuxUrls } from '../mux/urls.js';
import { once } from './lazy.js';

export interface MuxRuntimeOptions extends MuxConfigOptions {
  /**
   * SDK retries per call. Default 0: the callers (SQS redelivery, Mux's webhook retries, the reconcile schedule)
   * retry at a level that knows what is safe to repeat, and a blind SDK retry of a timed-out `create asset` would
   * make a second asset.
   */
  readonly maxRetries?: number;
  /** Per request, ms. Default the settings' (MUX_TIMEOUT_MS) or 20 s. */
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

export function muxRuntime(settings: MuxSettings, options: MuxRuntimeOptions = {}): MuxRuntime {
  const config = muxConfig(settings, options);
  const timeout = options.timeoutMs ?? settings.requestTimeoutMs ?? 20_000;
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

/** {@link muxRuntime} straight from an environment (tests and tools; functions parse once at their edge). */
export function muxFromEnv(env: Env, options: MuxRuntimeOptions = {}): MuxRuntime {
  return muxRuntime(muxSettingsFromEnv(env), options);
}
