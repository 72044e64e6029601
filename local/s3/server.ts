/**
 * The local S3: s3rver on a private loopback port, behind a small HTTP front on the public one.
 *
 * The front adds what reelay needs and s3rver (3.x) lacks: ListParts (with max-parts / part-number-marker
 * pagination) and AbortMultipartUpload, answered from s3rver's on-disk multipart state; S3's checks on UploadPart
 * and CompleteMultipartUpload (NoSuchUpload, InvalidPart, InvalidPartOrder, EntityTooSmall); and SigV4
 * verification of presigned URLs, so a PUT of another size or type than was signed fails locally as in AWS; and S3's
 * conditional writes (`If-None-Match: *`, `If-Match`) on PutObject and CompleteMultipartUpload (conditional-writes.ts).
 * Requests signed in the Authorization header (the SDK's own calls) are passed through unverified.
 * Everything else is proxied to s3rver unchanged. Object-created events become the records S3 puts in an SQS
 * message body, with `ObjectCreated:Put` or `ObjectCreated:CompleteMultipartUpload` and URL-encoded keys.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3EventRecord } from 'aws-lambda';
import S3rver from 's3rver';
import type { S3rverEvent } from 's3rver';
import { MiB, S3Limits } from '../../shared/storage/config.js';
import { createS3Client } from '../../shared/storage/s3-client.js';
import { encodeS3EventKey } from '../../shared/storage/events.js';
import { silentLogger } from '../../shared/log.js';
import type { Logger } from '../../shared/log.js';
import { ConditionalWrites, preconditionOf, unconditionalWriteRefusal, type Precondition, type ReplacementBody, type S3Refusal } from './conditional-writes.js';
import { completeProblem, partsFromCompleteXml } from './complete-checks.js';
import { abortUpload, readUpload, uploadExists } from './multipart-store.js';
import { isPresignedRequest, verifyPresignedRequest } from './presigned-auth.js';
import type { LocalCredentials } from './presigned-auth.js';

export interface LocalS3Options {
  /** Public port; 0 (default) picks a free one. */
  readonly port?: number;
  readonly host?: string;
  /** Where s3rver keeps buckets and multipart state; kept between runs. */
  readonly directory: string;
  readonly bucket: string;
  readonly region?: string;
  /** Browser origins allowed to PUT/GET (the local console). */
  readonly corsOrigins?: readonly string[];
  /** Only keys under this prefix are notified, like the bucket notification's prefix filter in AWS. */
  readonly notificationPrefix?: string;
  readonly onObjectCreated?: (record: S3EventRecord) => void;
  /** Check SigV4 on presigned-URL requests (default true). */
  readonly verifyPresignedUrls?: boolean;
  /**
   * The only keys presigned URLs may be signed with (default {@link localS3Credentials}). Functions that build their
   * own S3Client from the environment must get these as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
   */
  readonly credentials?: LocalCredentials;
  /**
   * Emulates the upload bucket's policy that denies PutObject and CompleteMultipartUpload without a conditional header
   * (except on keys matching `exceptKeys`, `*` as in an S3 resource ARN). Off by default, like a bucket without it.
   */
  readonly requireConditionalWrites?: { readonly exceptKeys?: string };
  /** S3's minimum for every part but the last (default 5 MiB); lower only to keep tests small. */
  readonly minPartBytes?: number;
  readonly logger?: Logger;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>`: use with path-style addressing. */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly credentials: LocalCredentials;
  /** An S3Client for this server (path style, local credentials, checksums only when required). */
  readonly client: S3Client;
  close(): Promise<void>;
}

/** The fixed local keys (s3rver's defaults); nothing secret. */
export const localS3Credentials: LocalCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export const defaultCorsOrigins: readonly string[] = ['http://127.0.0.1:3000', 'http://localhost:3000'];

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch] ?? ch);
}

function corsXml(origins: readonly string[]): string {
  const allowed = origins.map((origin) => `<AllowedOrigin>${escapeXml(origin)}</AllowedOrigin>`).join('');
  return `<CORSConfiguration><CORSRule>${allowed}<AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>`
    + '<AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>'
    + '<MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>';
}

const requestId = (): string => randomBytes(8).toString('hex').toUpperCase();

/** Path-style `/bucket/key`, key decoded. */
function targetOf(url: URL): { bucket: string; key: string } | undefined {
  const match = /^\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (match === null) return undefined;
  try {
    return { bucket: decodeURIComponent(match[1] ?? ''), key: decodeURIComponent(match[2] ?? '') };
  } catch {
    return undefined;
  }
}

async function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Starts s3rver and the front. The bucket is created (with CORS for the local console) if missing.
 */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const logger = options.logger ?? silentLogger;
  const region = options.region ?? 'us-east-1';
  const corsOrigins = options.corsOrigins ?? defaultCorsOrigins;
  const minPartBytes = options.minPartBytes ?? S3Limits.minPartBytes;
  const verifyPresigned = options.verifyPresignedUrls ?? true;
  const notificationPrefix = options.notificationPrefix ?? '';
  const { directory, bucket } = options;
  const credentials = options.credentials ?? localS3Credentials;
  await mkdir(directory, { recursive: true });

  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    // Virtual-host detection would misread a 127.0.0.1 Host header; reelay uses path style locally.
    vhostBuckets: false,
    // No origins, no CORS rule (a CORSConfiguration needs one), as the CDK app leaves the bucket without one.
    configureBuckets: [{ name: bucket, configs: corsOrigins.length > 0 ? [corsXml(corsOrigins)] : [] }],
  });
  const inner = await s3rver.run();

  // Keys whose CompleteMultipartUpload is being proxied: s3rver reports those as `ObjectCreated:Post`.
  const completing = new Set<string>();
  let sequence = 0;
  s3rver.on('event', (event: S3rverEvent) => {
    for (const record of event.Records) {
      const { key, size, eTag } = record.s3.object;
      if (!record.eventName.startsWith('ObjectCreated:') || !key.startsWith(notificationPrefix)) continue;
      const name = record.eventName === 'ObjectCreated:Post' && completing.has(`${record.s3.bucket.name}/${key}`)
        ? 'ObjectCreated:CompleteMultipartUpload'
        : record.eventName;
      sequence += 1;
      const notification: S3EventRecord = {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: region,
        eventTime: record.eventTime,
        eventName: name,
        userIdentity: { principalId: 'AWS:LOCAL' },
        requestParameters: { sourceIPAddress: record.requestParameters.sourceIPAddress },
        responseElements: { 'x-amz-request-id': requestId(), 'x-amz-id-2': randomBytes(24).toString('base64') },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'reelay-local-object-created',
          bucket: { name: record.s3.bucket.name, ownerIdentity: { principalId: 'LOCAL' }, arn: `arn:aws:s3:::${record.s3.bucket.name}` },
          object: {
            key: encodeS3EventKey(key),
            size: size ?? 0,
            eTag: eTag ?? '',
            // Hex, growing with every event, so later events for a key compare greater (as S3's do).
            sequencer: `${Date.now().toString(16)}${sequence.toString(16).padStart(6, '0')}`.toUpperCase().padStart(18, '0'),
          },
        },
      };
      logger.info('local_s3.object_created', { eventName: name, bucket: record.s3.bucket.name, key, size });
      const deliver = options.onObjectCreated;
      if (deliver !== undefined) {
        // S3 notifies after the request has completed, never inside it.
        setImmediate(() => {
          try {
            deliver(notification);
          } catch (error) {
            logger.error('local_s3.notification_failed', { key, error });
          }
        });
      }
    }
  });

  const cors = (request: http.IncomingMessage): Record<string, string> => {
    const origin = request.headers.origin;
    return origin !== undefined && corsOrigins.includes(origin)
      ? { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'ETag', vary: 'Origin' }
      : {};
  };

  // s3rver answers an allowed preflight with `Access-Control-Allow-Origin: *`; S3 names the origin when a rule lists
  // it, and a browser that sends credentials or reads the answer needs exactly that.
  const preflightHeaders = (request: http.IncomingMessage, headers: http.IncomingHttpHeaders): http.IncomingHttpHeaders => {
    const origin = request.headers.origin;
    if (headers['access-control-allow-origin'] !== '*' || origin === undefined || !corsOrigins.includes(origin)) return headers;
    return { ...headers, 'access-control-allow-origin': origin };
  };

  const sendXml = (request: http.IncomingMessage, response: http.ServerResponse, status: number, xml: string): void => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
    response.writeHead(status, { ...cors(request), 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': requestId() });
    response.end(body);
  };

  const sendError = (request: http.IncomingMessage, response: http.ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void => {
    request.resume();
    const fields = Object.entries(extra).map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`).join('');
    sendXml(request, response, status, `<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message>${fields}<RequestId>${requestId()}</RequestId></Error>`);
    logger.info('local_s3.request_rejected', { method: request.method, url: request.url, status, code });
  };

  /** Forwards the request to s3rver and its answer back; resolves with s3rver's status once the answer is sent. */
  const proxy = (request: http.IncomingMessage, response: http.ServerResponse, body?: ReplacementBody): Promise<number> =>
    new Promise((resolve) => {
      const headers = { ...request.headers };
      if (body !== undefined) {
        headers['content-length'] = String(Buffer.isBuffer(body) ? body.length : body.size);
        delete headers['transfer-encoding'];
      }
      const upstream = http.request({ host: '127.0.0.1', port: inner.port, method: request.method, path: request.url, headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, request.method === 'OPTIONS' ? preflightHeaders(request, answer.headers) : answer.headers);
        answer.pipe(response);
        answer.on('end', () => resolve(answer.statusCode ?? 502));
      });
      upstream.on('error', (error) => {
        logger.error('local_s3.proxy_failed', { method: request.method, url: request.url, error });
        if (!response.headersSent) sendError(request, response, 502, 'InternalError', 'The local S3 did not answer');
        else response.destroy(error);
        resolve(502);
      });
      if (body === undefined) request.pipe(upstream);
      else if (Buffer.isBuffer(body)) upstream.end(body);
      else createReadStream(body.file).pipe(upstream);
    });

  const refuse = (request: http.IncomingMessage, response: http.ServerResponse, refusal: S3Refusal): void =>
    sendError(request, response, refusal.status, refusal.code, refusal.message, { ...refusal.fields });

  const staging = await mkdtemp(path.join(tmpdir(), 'reelay-s3-staging-'));
  const conditional = new ConditionalWrites({ innerPort: inner.port, bucket, stagingDirectory: staging, forward: proxy, refuse });

  const listParts = async (request: http.IncomingMessage, response: http.ServerResponse, url: URL, target: { bucket: string; key: string }, uploadId: string): Promise<void> => {
    const upload = await readUpload(directory, target.bucket, target.key, uploadId);
    if (upload === undefined) return sendError(request, response, 404, 'NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    const maxParts = Math.min(Number(url.searchParams.get('max-parts') ?? S3Limits.listPartsPageMax) || S3Limits.listPartsPageMax, S3Limits.listPartsPageMax);
    const marker = Number(url.searchParams.get('part-number-marker') ?? 0) || 0;
    const after = upload.parts.filter((part) => part.partNumber > marker);
    const page = after.slice(0, maxParts);
    const truncated = after.length > page.length;
    const next = page.at(-1)?.partNumber ?? marker;
    const partsXml = page
      .map((part) => `<Part><PartNumber>${part.partNumber}</PartNumber><LastModified>${part.lastModified.toISOString()}</LastModified>`
        + `<ETag>${escapeXml(part.etag)}</ETag><Size>${part.size}</Size></Part>`)
      .join('');
    sendXml(request, response, 200, '<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
      + `<Bucket>${escapeXml(target.bucket)}</Bucket><Key>${escapeXml(target.key)}</Key><UploadId>${uploadId}</UploadId>`
      + `<PartNumberMarker>${marker}</PartNumberMarker><NextPartNumberMarker>${next}</NextPartNumberMarker>`
      + `<MaxParts>${maxParts}</MaxParts><IsTruncated>${truncated}</IsTruncated>${partsXml}<StorageClass>STANDARD</StorageClass></ListPartsResult>`);
  };

  const complete = async (request: http.IncomingMessage, response: http.ServerResponse, target: { bucket: string; key: string }, uploadId: string,
    precondition: Precondition | undefined): Promise<void> => {
    // Registered before the body is read: a DELETE of the key from now on fails this completion with 409.
    const write = precondition === undefined ? undefined : conditional.begin(target.key);
    try {
      const body = await readBody(request, MiB);
      const requested = body === undefined ? undefined : partsFromCompleteXml(body.toString('utf8'));
      if (body === undefined || requested === undefined) {
        return sendError(request, response, 400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
      }
      const upload = await readUpload(directory, target.bucket, target.key, uploadId);
      if (upload === undefined) return sendError(request, response, 404, 'NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
      const problem = completeProblem(requested, new Map(upload.parts.map((part) => [part.partNumber, part])), minPartBytes);
      if (problem !== undefined) return sendError(request, response, 400, problem.code, problem.message, { UploadId: uploadId });
      const marker = `${target.bucket}/${target.key}`;
      const assemble = async () => {
        completing.add(marker);
        try {
          await proxy(request, response, body);
        } finally {
          completing.delete(marker);
        }
      };
      if (write === undefined || precondition === undefined) return await assemble();
      return await conditional.commit(request, response, write, precondition, assemble);
    } finally {
      if (write !== undefined) conditional.end(write);
    }
  };

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? '127.0.0.1'}`);
    const method = (request.method ?? 'GET').toUpperCase();
    if (verifyPresigned && method !== 'OPTIONS' && isPresignedRequest(url)) {
      const verdict = await verifyPresignedRequest({ method, url, headers: request.headers }, credentials);
      if (!verdict.ok) return sendError(request, response, verdict.status, verdict.code, verdict.message);
    }
    const target = targetOf(url);
    const uploadId = url.searchParams.get('uploadId');
    const pass = async (): Promise<void> => {
      await proxy(request, response);
    };
    // Only the configured bucket's multipart state is read from disk (and never a path built from another name).
    if (target === undefined || target.bucket !== bucket) return pass();
    // PutObject and CompleteMultipartUpload take conditions; UploadPart, CopyObject and the sub-resources do not.
    const isPutObject = method === 'PUT' && uploadId === null && request.headers['x-amz-copy-source'] === undefined
      && !['tagging', 'acl', 'retention', 'legal-hold'].some((name) => url.searchParams.has(name));
    const objectWrite = isPutObject || (method === 'POST' && uploadId !== null);
    const { precondition, refusal } = objectWrite ? preconditionOf(request.headers) : {};
    if (refusal !== undefined) return refuse(request, response, refusal);
    const policy = options.requireConditionalWrites;
    const denied = objectWrite && precondition === undefined && policy !== undefined ? unconditionalWriteRefusal(target.key, policy.exceptKeys) : undefined;
    if (denied !== undefined) return refuse(request, response, denied);

    if (uploadId === null) {
      if (isPutObject && precondition !== undefined) return conditional.put(request, response, target.key, precondition);
      if (method === 'DELETE' && !url.searchParams.has('delete')) return conditional.delete(request, response, target.key);
      return pass();
    }

    switch (method) {
      case 'GET':
        return listParts(request, response, url, target, uploadId);
      case 'DELETE':
        if (!(await abortUpload(directory, target.bucket, target.key, uploadId))) {
          return sendError(request, response, 404, 'NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
        }
        response.writeHead(204, cors(request)).end();
        return;
      case 'PUT': {
        const partNumber = Number(url.searchParams.get('partNumber'));
        if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > S3Limits.maxParts) {
          return sendError(request, response, 400, 'InvalidArgument', `Part number must be an integer between 1 and ${S3Limits.maxParts}, inclusive`);
        }
        // s3rver would silently recreate the folder of an aborted upload.
        if (!(await uploadExists(directory, target.bucket, target.key, uploadId))) {
          return sendError(request, response, 404, 'NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
        }
        return pass();
      }
      case 'POST':
        return complete(request, response, target, uploadId, precondition);
      default:
        return pass();
    }
  };

  const front = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error('local_s3.request_failed', { method: request.method, url: request.url, error });
      if (!response.headersSent) sendError(request, response, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = front.address() as AddressInfo;
  const endpoint = `http://${address.address}:${address.port}`;
  const client = createS3Client({ region, endpoint, forcePathStyle: true }, credentials);
  logger.info('local_s3.started', { endpoint, bucket, directory });

  return {
    endpoint,
    bucket,
    region,
    credentials,
    client,
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => {
        front.close(() => resolve());
        front.closeAllConnections();
      });
      await s3rver.close();
      await rm(staging, { recursive: true, force: true });
    },
  };
}
