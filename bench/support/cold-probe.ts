/**
 * One cold start of a bundle in a fresh Node process, as P2 measures it: the import (Lambda's INIT), then the first
 * invocation with a typical event up to its first network call ("ready"). Every endpoint is on loopback and the
 * probe stops the process at the first socket connect, so nothing leaves the machine and no retry waits are timed.
 */
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

/**
 * Runs in the fresh process. `net.Socket.prototype.connect` is where every client's first network call lands (the
 * AWS SDK's node:http handler, undici's fetch for Mux): the first call ends the measurement. An invocation that
 * returns or throws first ends it too, and says so, so the bench can tell an event that never got that far.
 */
export const probeSource = `
import net from 'node:net';
const cpu = process.cpuUsage();
const started = performance.now();
const cpuMs = () => { const used = process.cpuUsage(cpu); return (used.user + used.system) / 1000; };
const result = { version: process.version };
let finished = false;
function finish(readyAt, error) {
  if (finished) return;
  finished = true;
  result.readyMs = performance.now() - started;
  result.readyCpuMs = cpuMs();
  result.readyAt = readyAt;
  if (error !== undefined) result.error = String(error && error.message ? error.message : error).slice(0, 300);
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
}
net.Socket.prototype.connect = function () { finish(result.importMs === undefined ? 'network-during-import' : 'network'); return this; };
const module = await import(process.argv[2]);
result.importMs = performance.now() - started;
result.cpuMs = cpuMs();
const event = JSON.parse(process.argv[3]);
const context = {
  functionName: 'probe', awsRequestId: 'probe-request', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:probe',
  memoryLimitInMB: '1024', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 29000,
};
try {
  await module.handler(event, context);
  finish('returned');
} catch (error) {
  finish('threw', error);
}
`;

/** What every function's handler needs from its environment; nothing listens at these addresses. */
export const probeEnv: Readonly<Record<string, string>> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIAPROBE',
  AWS_SECRET_ACCESS_KEY: 'probe',
  RDS_RESOURCE_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:probe',
  RDS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:probe-AbCdEf',
  RDS_DATABASE: 'reelay',
  DATA_API_ENDPOINT: 'http://127.0.0.1:9',
  UPLOAD_BUCKET: 'probe-bucket',
  ADMIN_GROUP: 'admin',
  MUX_TOKEN_ID: 'probe',
  MUX_TOKEN_SECRET: 'probe',
  MUX_WEBHOOK_SECRET: 'probe',
  MUX_BINDING_KEY: 'probe-binding-key-0123456789abcdef0123456789',
  MUX_BASE_URL: 'http://127.0.0.1:9',
  LOG_LEVEL: 'error',
};

function httpEvent(
  routeKey: string,
  options: { path?: string; body?: string; headers?: Record<string, string>; pathParameters?: Record<string, string> } = {},
): unknown {
  const [method, path] = routeKey.split(' ') as [string, string];
  const rawPath = options.path ?? path;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...options.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'probe',
      domainName: 'probe.example',
      requestId: 'probe-request',
      routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'probe' },
      authorizer: { jwt: { claims: { sub: 'probe-user', 'cognito:groups': '[admin]' }, scopes: null } },
    },
    ...(options.pathParameters === undefined ? {} : { pathParameters: options.pathParameters }),
    ...(options.body === undefined ? {} : { body: options.body }),
    isBase64Encoded: false,
  };
}

/**
 * The first invocation each function typically gets (its most common one), built when the process is spawned so that
 * a signed webhook is always fresh. uploads: a single-PUT upload (below the multipart threshold, as most are).
 */
export function typicalEvent(name: string): unknown {
  switch (name) {
    case 'uploads':
      return httpEvent('POST /api/videos/upload', {
        body: JSON.stringify({ title: 'probe', filename: 'probe.mp4', contentType: 'video/mp4', size: 10 * 1024 * 1024 }),
      });
    case 'videos':
      return httpEvent('GET /api/videos');
    case 'video-changes': {
      const id = randomUUID();
      return httpEvent('PATCH /api/videos/{id}', { path: `/api/videos/${id}`, pathParameters: { id }, body: JSON.stringify({ title: 'probe' }) });
    }
    case 'video-deletes': {
      const id = randomUUID();
      return httpEvent('DELETE /api/videos/{id}', { path: `/api/videos/${id}`, pathParameters: { id } });
    }
    case 'health':
      return httpEvent('GET /api/database/health');
    case 'admin':
      return httpEvent('GET /api/database/health/details');
    case 'mux-webhook': {
      const created = new Date().toISOString();
      const body = JSON.stringify({
        type: 'video.asset.ready',
        id: randomUUID(),
        created_at: created,
        object: { type: 'asset', id: 'probeAsset01' },
        data: { id: 'probeAsset01', status: 'ready', passthrough: randomUUID(), created_at: String(Math.floor(Date.now() / 1000)) },
      });
      const t = Math.floor(Date.now() / 1000);
      const signature = createHmac('sha256', probeEnv.MUX_WEBHOOK_SECRET as string).update(`${t}.${body}`).digest('hex');
      return httpEvent('POST /api/webhooks/mux', { body, headers: { 'mux-signature': `t=${t},v1=${signature}` } });
    }
    case 'ingest': {
      const notification = {
        Records: [{
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          eventTime: new Date().toISOString(),
          s3: { bucket: { name: 'probe-bucket' }, object: { key: `uploads/${randomUUID()}/source.mp4`, size: 10 * 1024 * 1024, eTag: 'probe' } },
        }],
      };
      return { Records: [{ messageId: 'probe-message', body: JSON.stringify(notification), attributes: { ApproximateReceiveCount: '1' }, eventSource: 'aws:sqs' }] };
    }
    case 'reconcile':
      return { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
    case 'migrate':
      return {};
    default:
      return {};
  }
}

export interface ColdStart {
  /** Wall time of `await import(bundle)` inside the fresh process. */
  readonly importMs: number;
  /** CPU time (user + system) of the same. */
  readonly cpuMs: number;
  /** Import plus the first invocation up to its first network call, wall and CPU. */
  readonly readyMs: number;
  readonly readyCpuMs: number;
  /** How "ready" ended: at the first socket connect, or the handler returned / threw before any. */
  readonly readyAt: 'network' | 'returned' | 'threw' | 'network-during-import';
  readonly error?: string;
  /** Spawn to exit, for reference (includes Node's own start). */
  readonly processMs: number;
  readonly version: string;
}

/** One cold start of `bundleFile` in a fresh process with a clean environment (no compile cache, no preloads). */
export function coldStart(node: string, probeFile: string, bundleFile: string, event: unknown): Promise<ColdStart> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(node, [probeFile, pathToFileURL(bundleFile).href, JSON.stringify(event)], {
      env: { PATH: process.env.PATH ?? '', LANG: 'C', ...probeEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`cold start of ${bundleFile} failed (${code}): ${stderr.slice(0, 1000)}`));
      resolve({ ...(JSON.parse(stdout) as Omit<ColdStart, 'processMs'>), processMs: performance.now() - started });
    });
  });
}
