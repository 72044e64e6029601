/**
 * What the local SQS stand-in's two queues (sqs-bridge.ts: the ingest queue and its dead-letter queue) share: SQS's
 * errors by name, receipt handles, message bodies and message attributes as the SQS API reference defines them —
 * the body's character set (SendMessage: "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to
 * #x10FFFF", at most 256 KiB), at most 10 attributes of type String, Number or Binary (a custom suffix allowed, e.g.
 * `Number.int`), and MD5OfMessageAttributes computed as SQS documents it ("Calculating the MD5 message digest for
 * message attributes": per attribute sorted by name, the length-prefixed UTF-8 name, data type, a transport byte 1
 * for String/Number or 2 for Binary, and the length-prefixed value).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SQSMessageAttributes } from 'aws-lambda';

/** An SQS error, by its name in the API reference (sqs-server.ts puts it on the wire). */
export type SqsErrorType =
  | 'ReceiptHandleIsInvalid'
  | 'MessageNotInflight'
  | 'InvalidParameterValue'
  | 'MissingParameter'
  | 'InvalidMessageContents'
  | 'UnsupportedOperation'
  | 'QueueDoesNotExist';

export class SqsBridgeError extends Error {
  constructor(readonly type: SqsErrorType, message: string) {
    super(message);
  }
}

/** A message attribute as the JSON protocol carries it (BinaryValue: base64). */
export interface MessageAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export type MessageAttributes = Readonly<Record<string, MessageAttributeValue>>;

/** SQS's message size limit (the queues' MaximumMessageSize: the CDK app sets none, so SQS's 256 KiB). */
export const maxMessageBytes = 262_144;
const maxAttributes = 10;

export const md5Hex = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

/** The characters SendMessage accepts (the XML 1.0 set), by code point (a lone surrogate is none of them). */
function validCharacter(codePoint: number): boolean {
  return codePoint === 0x9 || codePoint === 0xa || codePoint === 0xd || (codePoint >= 0x20 && codePoint <= 0xd7ff) || (codePoint >= 0xe000 && codePoint <= 0xfffd) || codePoint >= 0x10000;
}

export function validateBody(body: unknown): string {
  if (typeof body !== 'string' || body.length === 0) throw new SqsBridgeError('MissingParameter', 'The request must contain the parameter MessageBody.');
  if (Buffer.byteLength(body) > maxMessageBytes) {
    throw new SqsBridgeError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${maxMessageBytes} bytes.`);
  }
  if ([...body].some((character) => !validCharacter(character.codePointAt(0) ?? 0))) {
    throw new SqsBridgeError('InvalidMessageContents', 'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF');
  }
  return body;
}

/** The attributes of a SendMessage, checked as SQS checks them; undefined when none were given. */
export function validateMessageAttributes(input: unknown): MessageAttributes | undefined {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== 'object' || Array.isArray(input)) throw new SqsBridgeError('InvalidParameterValue', 'MessageAttributes must be a map.');
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length === 0) return undefined;
  if (entries.length > maxAttributes) throw new SqsBridgeError('InvalidParameterValue', `Number of message attributes [${entries.length}] exceeds the allowed maximum [${maxAttributes}].`);
  const checked: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of entries) {
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..') || /^(aws\.|amazon\.)/i.test(name)) {
      throw new SqsBridgeError('InvalidParameterValue', `Message attribute name '${name}' is invalid.`);
    }
    const { DataType: dataType, StringValue: stringValue, BinaryValue: binaryValue } = (value ?? {}) as Record<string, unknown>;
    if (typeof dataType !== 'string' || !/^(String|Number|Binary)(\.[A-Za-z0-9_.-]+)?$/.test(dataType)) {
      throw new SqsBridgeError('InvalidParameterValue', `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
    }
    if (dataType.startsWith('Binary')) {
      if (typeof binaryValue !== 'string' || binaryValue.length === 0) throw new SqsBridgeError('InvalidParameterValue', `The message attribute '${name}' must contain a non-empty message attribute value.`);
      checked[name] = { DataType: dataType, BinaryValue: binaryValue };
      continue;
    }
    if (typeof stringValue !== 'string' || stringValue.length === 0) throw new SqsBridgeError('InvalidParameterValue', `The message attribute '${name}' must contain a non-empty message attribute value.`);
    if (dataType.startsWith('Number') && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(stringValue)) {
      throw new SqsBridgeError('InvalidParameterValue', `Can't cast the value of message (user) attribute '${name}' to a number.`);
    }
    checked[name] = { DataType: dataType, StringValue: stringValue };
  }
  return checked;
}

/** MD5OfMessageAttributes (see the module comment); undefined for no attributes, as SQS then omits it. */
export function md5OfMessageAttributes(attributes: MessageAttributes | undefined): string | undefined {
  const names = Object.keys(attributes ?? {}).sort();
  if (attributes === undefined || names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const prefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const value = attributes[name] as MessageAttributeValue;
    prefixed(Buffer.from(name, 'utf8'));
    prefixed(Buffer.from(value.DataType, 'utf8'));
    const binary = value.BinaryValue !== undefined;
    parts.push(Buffer.from([binary ? 2 : 1]));
    prefixed(binary ? Buffer.from(value.BinaryValue as string, 'base64') : Buffer.from(value.StringValue ?? '', 'utf8'));
  }
  return md5Hex(Buffer.concat(parts));
}

/**
 * The attributes a ReceiveMessage asked for (MessageAttributeNames): `All` or `.*` for every one, `prefix.*` for a
 * prefix, else by exact name.
 */
export function selectMessageAttributes(attributes: MessageAttributes | undefined, requested: readonly string[] | undefined): MessageAttributes | undefined {
  if (attributes === undefined || requested === undefined || requested.length === 0) return undefined;
  const wanted = (name: string) =>
    requested.some((pattern) => pattern === 'All' || pattern === '.*' || pattern === name || (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))));
  const selected = Object.fromEntries(Object.entries(attributes).filter(([name]) => wanted(name)));
  return Object.keys(selected).length === 0 ? undefined : selected;
}

/** The attributes as Lambda's SQS event carries them. */
export function lambdaMessageAttributes(attributes: MessageAttributes | undefined): SQSMessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes ?? {}).map(([name, value]) => [
      name,
      { dataType: value.DataType, stringListValues: [], binaryListValues: [], ...(value.StringValue !== undefined && { stringValue: value.StringValue }), ...(value.BinaryValue !== undefined && { binaryValue: value.BinaryValue }) },
    ]),
  );
}

/** A new receipt handle: which queue, which message, which receive (opaque to clients, as SQS's are). */
export function newReceiptHandle(queue: string, messageId: string, receiveCount: number): string {
  return Buffer.from(`${queue}:${messageId}:${receiveCount}:${randomUUID()}`).toString('base64');
}

/**
 * The message id a handle names, or why it is refused: a handle this stand-in never made, or one of another queue,
 * is ReceiptHandleIsInvalid, as in SQS.
 */
export function messageIdOfHandle(queue: string, receiptHandle: string): string {
  const parts = Buffer.from(receiptHandle, 'base64').toString('utf8').split(':');
  if (parts.length !== 4 || parts[0] !== queue || !parts[1]) {
    throw new SqsBridgeError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`);
  }
  return parts[1];
}

/** SQS's VisibilityTimeout range (0 to 12 hours), in whole seconds. */
export function checkVisibilitySeconds(seconds: unknown, parameter = 'VisibilityTimeout'): number {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
    throw new SqsBridgeError('InvalidParameterValue', `Value ${String(seconds)} for parameter ${parameter} is invalid. Reason: must be between 0 and 43200.`);
  }
  return seconds;
}
