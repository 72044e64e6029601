/**
 * The upload bucket, and the queue its object-created events go through to the ingest function.
 * Browsers PUT straight to S3 with presigned URLs, so the bucket is private, TLS-only and encrypted, and CORS allows
 * only the configured origins. Events go through SQS rather than straight to Lambda so a failing ingest retries with
 * backoff and ends in a dead-letter queue instead of being dropped after S3's two async retries.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { accessLogsBucket } from './access-logs-bucket.js';

export interface UploadBucketProps {
  /** Browser origins allowed to PUT parts and read ETags; empty means no CORS rule. */
  readonly corsOrigins: readonly string[];
  /** Key prefix for uploaded objects; only this prefix raises ingest events and is granted to functions. */
  readonly uploadPrefix: string;
  readonly removalPolicy: RemovalPolicy;
  readonly accessLogs: boolean;
  /** The ingest function's timeout: SQS keeps a message invisible for six times this, as AWS recommends. */
  readonly consumerTimeout: Duration;
  /** Deliveries before a message moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default 7 days */
  readonly abortIncompleteMultipartAfter?: Duration;
}

/** Exactly what presigned single and multipart uploads, resume, completion, abort, HEAD and GET need. */
export const uploadObjectActions = [
  's3:PutObject', // single PUT, CreateMultipartUpload, UploadPart, CompleteMultipartUpload
  's3:GetObject', // GET and HEAD (the presigned GET URL Mux fetches)
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts', // ListParts, to resume an interrupted multipart upload
] as const;

/** What `bucket-read` allows: presigned GETs (and HEADs) of files reelay stored itself. */
export const storedFileReadActions = ['s3:GetObject'] as const;

/**
 * Keys of the files reelay writes itself next to an upload: `<prefix><video id>/captions/<language>.srt`
 * (shared/storage/keys.ts, captionsKeyFor). Source videos (`<prefix><video id>/source.*`) do not match.
 */
export function storedFileKeyPattern(uploadPrefix: string): string {
  return `${uploadPrefix}*/captions/*`;
}

/**
 * Every object reelay writes or signs a URL for is written with a condition (`If-None-Match: *`, or `If-Match` when a
 * cancel replaces an upload with its marker), so an upload URL writes its key once. This denies, to everyone, the
 * PutObject and CompleteMultipartUpload requests that carry neither header, so a URL signed without the condition
 * (an older deployment's, or a hand-made one) cannot overwrite a source either. CreateMultipartUpload and UploadPart
 * take no conditional headers and are exempt (`s3:ObjectCreationOperation` is false for them); the caption files,
 * which reelay rewrites when Mux sends a track again, are left out. Amazon S3 User Guide, "conditional-writes-enforce".
 */
export function unconditionalWritesDenied(bucket: s3.IBucket, uploadPrefix: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'DenyUnconditionalObjectWrites',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['s3:PutObject'],
    notResources: [bucket.arnForObjects(storedFileKeyPattern(uploadPrefix))],
    conditions: {
      Null: { 's3:if-none-match': 'true', 's3:if-match': 'true' },
      Bool: { 's3:ObjectCreationOperation': 'true' },
    },
  });
}

/** What `bucket-delete` allows on the upload prefix: deleting a video's objects and aborting its multipart upload. */
export const deleteObjectActions = ['s3:DeleteObject', 's3:AbortMultipartUpload'] as const;

/**
 * The object grants functions get: uploading (capability `bucket`), reading stored captions (`bucket-read`), and
 * deleting a video's objects (`bucket-delete`, with listing limited to the prefix).
 */
export type ObjectAccess = 'upload' | 'read-stored-files' | 'delete';

interface ObjectAccessSpec {
  readonly actions: readonly string[];
  readonly keyPattern: (uploadPrefix: string) => string;
  /** Why the key pattern's wildcard is the least privilege possible (a cdk-nag acknowledgement). */
  readonly wildcardReason: (uploadPrefix: string) => string;
}

export const objectAccess: Readonly<Record<ObjectAccess, ObjectAccessSpec>> = {
  upload: {
    actions: uploadObjectActions,
    keyPattern: (prefix) => `${prefix}*`,
    wildcardReason: (prefix) =>
      `Object actions limited to the ${prefix} prefix; keys are generated per upload, so a prefix wildcard is the least privilege possible.`,
  },
  delete: {
    actions: deleteObjectActions,
    keyPattern: (prefix) => `${prefix}*`,
    wildcardReason: (prefix) =>
      `Deletes only under the ${prefix} prefix, where every key is a video's (<video id>/…); a deletion removes the folder of a video id known only at run time.`,
  },
  'read-stored-files': {
    actions: storedFileReadActions,
    keyPattern: storedFileKeyPattern,
    wildcardReason: () =>
      "Read-only (s3:GetObject) on the caption files reelay writes under each video's key; the video id and language in the key are only " +
      'known at run time, and source videos do not match the pattern.',
  },
};

export class UploadBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** The ingest queue's redrive maxReceiveCount (the ingest function spreads its retries over it). */
  readonly maxReceiveCount: number;
  /** The ingest queue's visibility timeout (the longest a retried message is made to wait). */
  readonly visibilityTimeout: Duration;
  readonly accessLogsBucket: s3.Bucket | undefined;
  readonly uploadPrefix: string;

  constructor(scope: Construct, id: string, props: UploadBucketProps) {
    super(scope, id);
    this.uploadPrefix = props.uploadPrefix;
    const disposable = props.removalPolicy === RemovalPolicy.DESTROY;

    this.accessLogsBucket = props.accessLogs ? accessLogsBucket(this, 'AccessLogs', { removalPolicy: props.removalPolicy }) : undefined;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Uploads are write-once source files that Mux copies; versioning would only keep dead bytes of deleted videos.
      versioned: false,
      ...(this.accessLogsBucket ? { serverAccessLogsBucket: this.accessLogsBucket, serverAccessLogsPrefix: 'uploads-bucket/' } : {}),
      cors:
        props.corsOrigins.length > 0
          ? [
              {
                allowedOrigins: [...props.corsOrigins],
                allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                // if-none-match: the single-PUT URL is signed with it (an upload writes its key once).
                allowedHeaders: ['content-type', 'content-length', 'content-md5', 'if-none-match', 'x-amz-*'],
                // The browser must read each part's ETag to complete a multipart upload.
                exposedHeaders: ['ETag'],
                maxAge: 3600,
              },
            ]
          : undefined,
      lifecycleRules: [
        {
          id: 'abort-incomplete-multipart-uploads',
          abortIncompleteMultipartUploadAfter: props.abortIncompleteMultipartAfter ?? Duration.days(7),
        },
      ],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: disposable,
    });
    if (!this.accessLogsBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'Server access logs were turned off with -c bucketAccessLogs=false for this deployment.',
      });
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });

    this.maxReceiveCount = props.maxReceiveCount ?? 5;
    this.visibilityTimeout = Duration.seconds(props.consumerTimeout.toSeconds() * 6);
    this.queue = new sqs.Queue(this, 'IngestQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
      removalPolicy: props.removalPolicy,
    });

    this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), {
      prefix: props.uploadPrefix,
    });

    this.bucket.addToResourcePolicy(unconditionalWritesDenied(this.bucket, props.uploadPrefix));
  }

  /** Grants one kind of object access under the upload prefix (nothing bucket-wide); returns the key pattern granted. */
  grantObjectAccess(grantee: iam.IGrantable, access: ObjectAccess): string {
    const spec = objectAccess[access];
    const keyPattern = spec.keyPattern(this.uploadPrefix);
    this.grantObjects(grantee, spec.actions, keyPattern);
    // Finding a video's objects needs ListObjectsV2, a bucket action: limited to keys under the prefix.
    if (access === 'delete') this.grantListing(grantee, keyPattern);
    return keyPattern;
  }

  /**
   * Where the "work pending" markers live: shared/storage/pending-work.ts's `pendingWorkRoot` (infra imports no
   * runtime code; test/infra/iam.test.ts checks the two agree).
   */
  static readonly pendingWorkRoot = '_reelay/';

  /**
   * "Work pending" markers (shared/storage/pending-work.ts), outside the upload prefix: `note` writes them (PutObject
   * on `_reelay/pending/*` only); `sweep` is reconcile's, which lists `_reelay/`, and writes and deletes under it
   * (clearing markers, stamping its sweeps). Returns the key pattern granted.
   */
  grantPendingWork(grantee: iam.IGrantable, access: 'note' | 'sweep'): string {
    if (access === 'note') {
      const keyPattern = `${UploadBucket.pendingWorkRoot}pending/*`;
      this.grantObjects(grantee, ['s3:PutObject'], keyPattern);
      return keyPattern;
    }
    const keyPattern = `${UploadBucket.pendingWorkRoot}*`;
    this.grantObjects(grantee, ['s3:PutObject', 's3:DeleteObject'], keyPattern);
    this.grantListing(grantee, keyPattern);
    return keyPattern;
  }

  /** `s3:ListBucket` on the bucket, for keys matching `keyPattern` only. */
  private grantListing(grantee: iam.IGrantable, keyPattern: string): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': keyPattern } },
    });
  }

  private grantObjects(grantee: iam.IGrantable, actions: readonly string[], keyPattern: string): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [this.bucket.arnForObjects(keyPattern)] });
  }
}
