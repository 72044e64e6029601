/**
 * How EventBridgePublisher retries, against a scripted client (the emulator's own tests, test/local/eventbridge.test.ts,
 * drive it over the wire): only what another try can fix is sent again.
 */
import { describe, expect, it } from 'vitest';
import type { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../../shared/events/eventbridge-publisher.js';
import { detailTypes, type VideoEvent } from '../../shared/events/video-events.js';

const noWait = { now: () => 0, random: () => 0, sleep: async () => {} };

function event(eventId: string): VideoEvent {
  const at = new Date(0).toISOString();
  return {
    detailType: detailTypes.ready,
    detail: {
      eventId, videoId: eventId, ownerId: 'alice', status: 'ready', occurredAt: at,
      video: { id: eventId, ownerId: 'alice', title: 't', description: null, status: 'ready', filename: 'f', contentType: 'video/mp4', size: 1, createdAt: at, updatedAt: at, mux: null, audio: null, captions: null },
    },
  };
}

/** Answers each call with the next script entry: per entry sent, an EventId or an ErrorCode. */
function scriptedClient(script: readonly (readonly (string | { code: string })[])[]) {
  const sent: string[][] = [];
  return {
    sent,
    async send(command: PutEventsCommand) {
      const entries = command.input.Entries ?? [];
      sent.push(entries.map((entry) => (JSON.parse(entry.Detail ?? '{}') as { eventId: string }).eventId));
      const answers = script[sent.length - 1] ?? [];
      return {
        FailedEntryCount: answers.filter((answer) => typeof answer !== 'string').length,
        Entries: entries.map((_, index) => {
          const answer = answers[index] ?? 'ok';
          return typeof answer === 'string' ? { EventId: `eb-${sent.length}-${index}` } : { ErrorCode: answer.code, ErrorMessage: answer.code };
        }),
      };
    },
  };
}

const settings = { busName: 'reelay-test', region: 'us-east-1' };

describe('EventBridgePublisher', () => {
  it('retries only the entries a partial failure says may succeed later, and reports the others at once', async () => {
    const client = scriptedClient([['ok', { code: 'MalformedDetail' }, { code: 'ThrottlingException' }], ['ok']]);
    const publisher = new EventBridgePublisher(settings, { client: client as never, clock: noWait });
    const outcome = await publisher.publish([event('a'), event('b'), event('c')]);
    expect(client.sent).toEqual([['a', 'b', 'c'], ['c']]);
    expect(outcome.published).toEqual(['a', 'c']);
    expect(outcome.failed).toEqual([{ eventId: 'b', code: 'MalformedDetail', message: 'MalformedDetail' }]);
  });

  it('gives up after its attempts and reports what is still unsent, with the code', async () => {
    const throttled = [{ code: 'ThrottlingException' }];
    const client = scriptedClient([throttled, throttled, throttled, throttled, throttled]);
    const publisher = new EventBridgePublisher(settings, { client: client as never, clock: noWait });
    const outcome = await publisher.publish([event('a')]);
    expect(client.sent).toHaveLength(4);
    expect(outcome).toEqual({ published: [], failed: [{ eventId: 'a', code: 'ThrottlingException', message: 'ThrottlingException' }] });
  });

  it('does not retry a call that failed for want of credentials', async () => {
    const calls: number[] = [];
    const client = {
      async send() {
        calls.push(1);
        throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      },
    };
    const publisher = new EventBridgePublisher(settings, { client: client as never, clock: noWait });
    const outcome = await publisher.publish([event('a')]);
    expect(calls).toHaveLength(1);
    expect(outcome.failed).toEqual([expect.objectContaining({ eventId: 'a', code: 'CredentialsProviderError' })]);
  });
});
