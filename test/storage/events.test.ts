import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors.js';
import { decodeS3EventKey, encodeS3EventKey, objectsCreated, parseS3SqsEvent } from '../../shared/storage/events.js';

/** An S3 notification body as AWS writes it (documented "Event message structure", version 2.1). */
function s3Body(key: string, eventName = 'ObjectCreated:Put'): string {
  return JSON.stringify({
    Records: [{
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'eu-west-1',
      eventTime: '2025-01-02T03:04:05.678Z',
      eventName,
      userIdentity: { principalId: 'AWS:AROAEXAMPLE' },
      requestParameters: { sourceIPAddress: '203.0.113.9' },
      responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'ingest',
        bucket: { name: 'videos', ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: 'arn:aws:s3:::videos' },
        object: { key, size: 1024, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0055AED6DCD90281E5' },
      },
    }],
  });
}

function sqsEvent(...bodies: string[]) {
  return {
    Records: bodies.map((body, index) => ({
      messageId: `m-${index}`,
      receiptHandle: `r-${index}`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:ingest',
      awsRegion: 'eu-west-1',
    })),
  };
}

const testEvent = JSON.stringify({
  Service: 'Amazon S3',
  Event: 's3:TestEvent',
  Time: '2025-01-02T03:04:05.000Z',
  Bucket: 'videos',
  RequestId: '5582815E1AEA5ADF',
  HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
});

describe('parseS3SqsEvent', () => {
  it('turns each object-created notification into a record with the decoded key', () => {
    const messages = parseS3SqsEvent(sqsEvent(s3Body('uploads/0b9c/source.mp4'), s3Body('uploads/my+holiday+%282024%29%2B1.mov', 'ObjectCreated:CompleteMultipartUpload')));
    expect(objectsCreated(messages)).toEqual([
      { messageId: 'm-0', bucket: 'videos', key: 'uploads/0b9c/source.mp4', size: 1024, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0055AED6DCD90281E5', eventName: 'ObjectCreated:Put', eventTime: '2025-01-02T03:04:05.678Z' },
      expect.objectContaining({ messageId: 'm-1', key: 'uploads/my holiday (2024)+1.mov', eventName: 'ObjectCreated:CompleteMultipartUpload' }),
    ]);
  });

  it('ignores the s3:TestEvent S3 sends when the notification is set up', () => {
    expect(parseS3SqsEvent(sqsEvent(testEvent))).toEqual([{ kind: 'ignored', messageId: 'm-0', reason: 'test_event' }]);
  });

  it('ignores notifications that are not object-created', () => {
    expect(parseS3SqsEvent(sqsEvent(s3Body('uploads/a/source.mp4', 'ObjectRemoved:Delete')))).toEqual([{ kind: 'ignored', messageId: 'm-0', reason: 'not_object_created' }]);
  });

  it('marks garbage messages invalid, one by one, without failing the good ones beside them', () => {
    const messages = parseS3SqsEvent(sqsEvent('not json', JSON.stringify({ hello: 'world' }), s3Body('uploads/a/source.mp4'), s3Body('uploads/%E0%A4%A/source.mp4')));
    expect(messages.map((message) => message.kind)).toEqual(['invalid', 'invalid', 'objects', 'invalid']);
    for (const message of messages) {
      if (message.kind === 'invalid') expect(message.error).toBeInstanceOf(ValidationError);
    }
    const notS3 = messages[1];
    expect(notS3?.kind === 'invalid' && notS3.error.details.length > 0).toBe(true);
  });

  it('refuses an event that is not SQS-shaped at all', () => {
    expect(() => parseS3SqsEvent({ detail: {} })).toThrow(ValidationError);
    expect(() => parseS3SqsEvent({ Records: [{ body: '{}' }] })).toThrow(/messageId/);
  });
});

describe('S3 notification key encoding', () => {
  it('round-trips keys with spaces, plus signs, unicode and punctuation, keeping slashes', () => {
    for (const key of ['uploads/a b/c+d.mp4', 'uploads/vidéo ñ/(1)!~*\'.mov', 'uploads/100%/x?y#z&.mp4']) {
      const encoded = encodeS3EventKey(key);
      expect(encoded).not.toContain(' ');
      expect(encoded.split('/').length).toBe(key.split('/').length);
      expect(decodeS3EventKey(encoded)).toBe(key);
    }
    expect(encodeS3EventKey('uploads/my video (1).mp4')).toBe('uploads/my+video+%281%29.mp4');
  });
});
