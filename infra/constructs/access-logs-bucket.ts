/**
 * A bucket that only receives access logs: private, encrypted, TLS-only, and emptied of logs after 90 days.
 * S3 server access logs are delivered under a bucket policy, so ACLs stay off unless CloudFront's standard logs must
 * land in it too: CloudFront still delivers with an ACL grant to its log-delivery account.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface AccessLogsBucketOptions {
  readonly removalPolicy: RemovalPolicy;
  /** Also the target of CloudFront standard logging (needs ACLs). @default false */
  readonly cloudFrontLogs?: boolean;
  /** @default 90 days */
  readonly expiration?: Duration;
}

export function accessLogsBucket(scope: Construct, id: string, options: AccessLogsBucketOptions): s3.Bucket {
  return new s3.Bucket(scope, id, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: options.cloudFrontLogs ? s3.ObjectOwnership.BUCKET_OWNER_PREFERRED : s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ id: 'expire-access-logs', expiration: options.expiration ?? Duration.days(90) }],
    removalPolicy: options.removalPolicy,
    autoDeleteObjects: options.removalPolicy === RemovalPolicy.DESTROY,
  });
}
