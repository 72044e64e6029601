/**
 * The local ingest queue's dead-letter queue (sqs-bridge.ts moves a message here after `maxReceiveCount` failed
 * receives), served as SQS serves a queue nobody's event source mapping polls: ReceiveMessage makes up to 10 visible
 * messages invisible for the queue's visibility timeout (or the receive's own) and hands each a fresh receipt handle;
 * DeleteMessage by the latest handle removes it; an older handle of a message received again since is accepted and
 * deletes nothing (the API reference: "If you use an old ReceiptHandle, the request will succeed, but the message
 * might not be deleted"); ChangeMessageVisibility moves an in-flight message's return; SendMessage adds one.
 * ApproximateReceiveCount goes on from the count the message had when it was dead-lettered, as in SQS.
 *
 * Time is the bridge's: SQS seconds scaled by `msPerSecond`. The CDK app gives the DLQ no visibility timeout, so it
 * has SQS's default of 30 s.
 */
import { randomUUID } from 'node:crypto';
import { checkVisibilitySeconds, messageIdOfHandle, newReceiptHandle, SqsBridgeError, type MessageAttributes } from './sqs-messages.js';

/** A dead-lettered message, as tests and `npm start` see the list. */
export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly lastError?: string;
  readonly messageAttributes?: MessageAttributes;
}

/** As kept (and persisted): the message and its place in the queue. */
export interface StoredDeadLetter {
  readonly messageId: string;
  readonly body: string;
  receiveCount: number;
  readonly lastError?: string;
  readonly messageAttributes?: MessageAttributes;
  /** When it was first sent (to the ingest queue, or here); absent in state files from before the DLQ was served. */
  readonly sentAt?: number;
  firstReceivedAt?: number;
  /** Until when it is invisible (in flight, or delayed); absent: visible. */
  visibleAt?: number;
  /** The latest receive's handle. */
  receiptHandle?: string;
}

/** One message of a ReceiveMessage. */
export interface ReceivedMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly sentAt: number;
  readonly firstReceivedAt: number;
  readonly messageAttributes?: MessageAttributes;
}

/** SQS's default visibility timeout: the CDK app's DLQ sets none. */
export const defaultDeadLetterVisibilitySeconds = 30;

export class LocalDeadLetterQueue {
  readonly #letters: StoredDeadLetter[];
  readonly #msPerSecond: number;
  readonly #visibilitySeconds: number;
  readonly #persist: () => void;
  readonly #now: () => number;
  /** In receipt handles, so a handle of the other queue is refused. */
  readonly name: string;

  constructor(letters: StoredDeadLetter[], options: { name: string; msPerSecond: number; visibilityTimeoutSeconds?: number; persist: () => void; now?: () => number }) {
    this.#letters = letters;
    this.name = options.name;
    this.#msPerSecond = options.msPerSecond;
    this.#visibilitySeconds = options.visibilityTimeoutSeconds ?? defaultDeadLetterVisibilitySeconds;
    this.#persist = options.persist;
    this.#now = options.now ?? Date.now;
  }

  /** Every message, in flight or not. */
  get stored(): readonly StoredDeadLetter[] {
    return this.#letters;
  }

  get view(): DeadLetter[] {
    return this.#letters.map(({ messageId, body, receiveCount, lastError, messageAttributes }) => ({
      messageId,
      body,
      receiveCount,
      ...(lastError !== undefined && { lastError }),
      ...(messageAttributes !== undefined && { messageAttributes }),
    }));
  }

  /** The redrive policy moved this message here (visible at once). */
  add(letter: StoredDeadLetter): void {
    this.#letters.push(letter);
    this.#persist();
  }

  send(body: string, messageAttributes: MessageAttributes | undefined, delaySeconds: number): string {
    const messageId = randomUUID();
    const now = this.#now();
    this.#letters.push({ messageId, body, receiveCount: 0, sentAt: now, ...(messageAttributes && { messageAttributes }), ...(delaySeconds > 0 && { visibleAt: now + delaySeconds * this.#msPerSecond }) });
    this.#persist();
    return messageId;
  }

  receive(max: number, visibilitySeconds: number | undefined): ReceivedMessage[] {
    const now = this.#now();
    const timeout = visibilitySeconds ?? this.#visibilitySeconds;
    const received: ReceivedMessage[] = [];
    for (const letter of this.#letters) {
      if (received.length >= max) break;
      if (letter.visibleAt !== undefined && letter.visibleAt > now) continue;
      letter.receiveCount += 1;
      letter.firstReceivedAt ??= now;
      letter.visibleAt = now + timeout * this.#msPerSecond;
      letter.receiptHandle = newReceiptHandle(this.name, letter.messageId, letter.receiveCount);
      received.push({
        messageId: letter.messageId,
        receiptHandle: letter.receiptHandle,
        body: letter.body,
        receiveCount: letter.receiveCount,
        sentAt: letter.sentAt ?? now,
        firstReceivedAt: letter.firstReceivedAt,
        ...(letter.messageAttributes && { messageAttributes: letter.messageAttributes }),
      });
    }
    if (received.length > 0) this.#persist();
    return received;
  }

  delete(receiptHandle: string): void {
    const messageId = messageIdOfHandle(this.name, receiptHandle);
    const index = this.#letters.findIndex((letter) => letter.messageId === messageId && letter.receiptHandle === receiptHandle);
    // An older handle, or one of a message deleted already: accepted, nothing deleted.
    if (index < 0) return;
    this.#letters.splice(index, 1);
    this.#persist();
  }

  changeVisibility(receiptHandle: string, seconds: number): void {
    checkVisibilitySeconds(seconds);
    const messageId = messageIdOfHandle(this.name, receiptHandle);
    const now = this.#now();
    const letter = this.#letters.find((each) => each.messageId === messageId);
    const inFlight = letter !== undefined && letter.receiptHandle === receiptHandle && letter.visibleAt !== undefined && letter.visibleAt > now;
    if (!inFlight) throw new SqsBridgeError('MessageNotInflight', 'The message referred to is not in flight.');
    letter.visibleAt = now + seconds * this.#msPerSecond;
    this.#persist();
  }

  /** Messages visible now. */
  get visible(): number {
    const now = this.#now();
    return this.#letters.filter((letter) => letter.visibleAt === undefined || letter.visibleAt <= now).length;
  }
}
