/** Where a publishing function puts its events: parsed once at its edge (functions/<name>/handler.ts). */
import { readString, type Env } from '../config/reader.js';
import { awsServiceSettingsFromEnv, type AwsServiceSettings } from '../storage/config.js';

/** `endpoint`: EVENTBRIDGE_ENDPOINT, the local EventBridge of `npm start`. */
export interface EventBusSettings extends AwsServiceSettings {
  /** EVENT_BUS_NAME: the bus's name or ARN (set by the stack). */
  readonly busName: string;
}

/** Undefined when EVENT_BUS_NAME is unset: events are recorded in the outbox and not published. */
export function eventBusSettingsFromEnv(env: Env): EventBusSettings | undefined {
  const busName = readString(env, 'EVENT_BUS_NAME');
  if (busName === undefined) return undefined;
  return { busName, ...awsServiceSettingsFromEnv(env, 'EVENTBRIDGE_ENDPOINT') };
}
