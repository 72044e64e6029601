// s3rver ships no types; this covers the part of its API (3.7) the local S3 uses.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';

  interface S3rverBucketConfig {
    readonly name: string;
    /** CORSConfiguration / WebsiteConfiguration XML documents. */
    readonly configs?: ReadonlyArray<string | Buffer>;
  }

  interface S3rverOptions {
    readonly address?: string;
    readonly port?: number;
    readonly silent?: boolean;
    readonly directory?: string;
    readonly resetOnClose?: boolean;
    readonly vhostBuckets?: boolean;
    readonly configureBuckets?: readonly S3rverBucketConfig[];
  }

  /** Emitted as `event` after a PUT, POST, copy, multipart completion or delete. */
  interface S3rverEvent {
    readonly Records: ReadonlyArray<{
      readonly eventName: string;
      readonly eventTime: string;
      readonly requestParameters: { readonly sourceIPAddress: string };
      readonly s3: {
        readonly bucket: { readonly name: string };
        readonly object: { readonly key: string; readonly size?: number; readonly eTag?: string; readonly sequencer: string };
      };
    }>;
  }

  class S3rver extends EventEmitter {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }

  export default S3rver;
  export type { S3rverEvent, S3rverOptions, S3rverBucketConfig };
}
