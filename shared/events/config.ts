/** Where a publishing function puts its events: parsed once at its edge (functions/<name>/handler.ts). */
import { readHttpUrl, readString, type Env } from '../config/reader.js';
import { roleCredentialsFromEnv, type RoleCredentials } from '../storage/config.js';

export interface EventBusSettings {
  /** EVENT_BUS_NAME: the bus's name or ARN (set by the stack). */
  readonly busName: string;
  readonly region: string;
  /** EVENTBRIDGE_ENDPOINT: the local EventBridge of `npm start` (unset in AWS: the SDK's own endpoint). */
  readonly endpoint?: string;
  /** With a local endpoint: the keys the local stack gives its functions (any keys sign; the SDK needs some). */
  readonly credentials?: RoleCredentials;
}

/** Undefined when EVENT_BUS_NAME is unset: events are recorded in the outbox and not published. */
export function eventBusSettingsFromEnv(env: Env): EventBusSettings | undefined {
  const busName = readString(env, 'EVENT_BUS_NAME');
  if (busName === undefined) return undefined;
  const endpoint = readHttpUrl(env, 'EVENTBRIDGE_ENDPOINT');
  const credentials = endpoint === undefined ? undefined : roleCredentialsFromEnv(env);
  return {
    busName,
    region: readString(env, 'AWS_REGION') ?? 'us-east-1',
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
  };
}
