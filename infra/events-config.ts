/** The events context (`eventBusName`, `eventsArchive`, `eventsArchiveDays`, `eventsWebhookUrl`, `eventsWebhookSecretArn`). */
import { Duration } from 'aws-cdk-lib';
import { webhookUrlProblem } from './constructs/events.js';
import { contextError, readBoolean, readNumber, readString, type ContextReader } from './context.js';

/**
 * reelay's lifecycle events on EventBridge (issue J; infra/constructs/events.ts). The stack creates the bus
 * `reelay-<stage>` with an archive, unless `-c eventBusName=…` names an existing bus: that one is someone else's, so
 * reelay only publishes to it (and adds its webhook rule), and archives on it only when asked (`eventsArchive=true`).
 */
export interface EventsConfig {
  /** An existing bus, by name or ARN (the functions' EVENT_BUS_NAME as given); undefined: the stack creates one. */
  readonly existingBus: string | undefined;
  /** How long the archive keeps reelay's events; undefined: no archive. */
  readonly archiveRetention: Duration | undefined;
  /** Forward every reelay event to this HTTPS URL through an API destination; undefined: none. */
  readonly webhook: EventsWebhookConfig | undefined;
}

export interface EventsWebhookConfig {
  readonly url: string;
  /** A secret whose SecretString is the API key the receiver checks; undefined: the stack generates one. */
  readonly keySecretArn: string | undefined;
}

/** EventBridge's rules for a bus name (CreateEventBus) and for a bus ARN. */
const eventBusNamePattern = /^[A-Za-z0-9._\-/]{1,256}$/;
const eventBusArnPattern = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/;
const secretArnPattern = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

export function readEvents(read: ContextReader, defaultArchiveDays: number): EventsConfig {
  const existingBus = readString(read, 'eventBusName');
  if (existingBus !== undefined && !(existingBus.startsWith('arn:') ? eventBusArnPattern : eventBusNamePattern).test(existingBus)) {
    throw contextError('eventBusName', 'an event bus name (letters, digits, . - _ /) or an event bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>)', existingBus);
  }
  // A bus of the stack's is archived unless turned off; someone else's bus only when asked.
  const archived = readBoolean(read, 'eventsArchive', existingBus === undefined);
  const daysGiven = read('eventsArchiveDays');
  if (!archived && daysGiven !== undefined && daysGiven !== null && daysGiven !== '') {
    throw new Error('context "eventsArchiveDays" sets the retention of the events archive, which is off (eventsArchive=false, or an existing eventBusName without eventsArchive=true)');
  }
  const days = readNumber(read, 'eventsArchiveDays', defaultArchiveDays, 1, 3650);
  if (!Number.isInteger(days)) throw contextError('eventsArchiveDays', 'whole days', daysGiven);

  const url = readString(read, 'eventsWebhookUrl');
  const keySecretArn = readString(read, 'eventsWebhookSecretArn');
  if (url === undefined && keySecretArn !== undefined) {
    throw new Error('context "eventsWebhookSecretArn" is the API key of the events webhook: give it with -c eventsWebhookUrl=https://…');
  }
  if (url !== undefined) {
    const problem = webhookUrlProblem(url);
    if (problem) throw contextError('eventsWebhookUrl', `an https:// URL (${problem})`, url);
  }
  if (keySecretArn !== undefined && !secretArnPattern.test(keySecretArn)) {
    throw contextError('eventsWebhookSecretArn', 'a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)', keySecretArn);
  }
  return {
    existingBus,
    archiveRetention: archived ? Duration.days(days) : undefined,
    webhook: url === undefined ? undefined : { url, keySecretArn },
  };
}
