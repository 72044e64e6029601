/**
 * An API Gateway HTTP API on loopback: routes from functions/routes.json, the JWT authorizer, payload-format-2.0
 * events into the same handlers Lambda runs, and their results back to HTTP, with API Gateway's own answers where it
 * would give them (401 `{"message":"Unauthorized"}`, 403 `{"message":"Forbidden"}` for a token without one of the
 * route's scopes, 404 `{"message":"Not Found"}`, 500 when a function throws).
 * It also serves the local JWKS and, at `/`, the web console's static files.
 */
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { apiCorsAllowHeaders, apiCorsExposeHeaders } from '../cors.js';
import { listenOn } from '../listen.js';
import { createLogger, logLevelFrom, type Logger } from '../../shared/log.js';
import type { HttpEvent, LambdaContext } from '../../shared/http/types.js';
import { createJwtAuthorizer, type JwtAuthorizerConfig } from '../auth/jwt-authorizer.js';
import { apiGatewayRequestId, buildHttpEvent, lambdaContext } from './event.js';
import { createRouter, type RouteDefinition } from './routes.js';
import { resolveStaticFile } from './static-files.js';

/** What a Lambda handler may return for payload 2.0: a structured result, or anything else as a JSON body. */
export type HttpFunction = (event: HttpEvent, context: LambdaContext) => Promise<unknown>;

export interface ApiGatewayOptions {
  /** Default 3000; 0 picks a free port (tests). */
  readonly port?: number;
  readonly host?: string;
  /** The routes; `scopes` on one (local/api-gateway/routes.ts, withRouteScopes) is enforced as authorizationScopes. */
  readonly routes: readonly RouteDefinition[];
  /** Function name (as in routes.json) → its handler. */
  readonly handlers: Readonly<Record<string, HttpFunction>>;
  readonly jwt: JwtAuthorizerConfig;
  /** The web console's files, served at `/` for paths no route claims. */
  readonly staticDir?: string;
  /** Origins allowed by CORS besides the emulator's own (default: none). */
  readonly corsOrigins?: readonly string[];
  /** Like a Lambda timeout; API Gateway HTTP APIs stop waiting after 30 s. */
  readonly functionTimeoutMs?: number;
  /** Paths the emulator answers itself with the JSON the function returns (the local stack's `/_local/…`). */
  readonly localRoutes?: Readonly<Record<string, LocalRoute>>;
  readonly logger?: Logger;
}

/**
 * A local route: `GET` (and `HEAD`) answer with the JSON `get` returns for the query; `DELETE` with what `delete`
 * returns, when it has one. A RangeError thrown by either (a bad query parameter) is a 400 `{ message }`.
 */
export type LocalRoute =
  | ((query: URLSearchParams) => unknown)
  | { readonly get: (query: URLSearchParams) => unknown; readonly delete?: () => unknown };

function localRouteHandler(route: LocalRoute, method: string | undefined): ((query: URLSearchParams) => unknown) | undefined {
  const get = typeof route === 'function' ? route : route.get;
  if (method === 'GET' || method === 'HEAD') return get;
  if (method === 'DELETE' && typeof route !== 'function' && route.delete) return route.delete;
  return undefined;
}

function localReply(handler: (query: URLSearchParams) => unknown, query: URLSearchParams): Reply {
  try {
    return jsonReply(200, handler(query));
  } catch (error) {
    if (error instanceof RangeError) return gatewayMessage(400, error.message);
    throw error;
  }
}

export interface ApiGateway {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** API Gateway's payload limit. */
const maxRequestBytes = 10 * 1024 * 1024;
export const jwksPath = '/.well-known/jwks.json';

interface Reply {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
}

function jsonReply(status: number, body: unknown, headers: ReadonlyArray<readonly [string, string]> = []): Reply {
  return { status, headers: [['content-type', 'application/json'], ...headers], body: Buffer.from(JSON.stringify(body)) };
}

const gatewayMessage = (status: number, message: string, headers?: ReadonlyArray<readonly [string, string]>) =>
  jsonReply(status, { message }, headers);

class RequestTooLarge extends Error {}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxRequestBytes) throw new RequestTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How API Gateway turns a 2.0 function result into the HTTP response. */
export function replyFromResult(result: unknown): Reply | undefined {
  if (!isRecord(result) || !('statusCode' in result)) {
    // The 2.0 shorthand: no statusCode means the whole result is a 200 JSON body.
    return jsonReply(200, result ?? null);
  }
  const { statusCode, headers, body, isBase64Encoded, cookies } = result;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return undefined;
  const replyHeaders: Array<readonly [string, string]> = isRecord(headers) ? Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)] as const) : [];
  if (Array.isArray(cookies)) for (const cookie of cookies) replyHeaders.push(['set-cookie', String(cookie)]);
  const bytes = typeof body === 'string' ? Buffer.from(body, isBase64Encoded === true ? 'base64' : 'utf8') : Buffer.alloc(0);
  return { status: statusCode, headers: replyHeaders, body: bytes };
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T | typeof timedOut> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
const timedOut = Symbol('timed out');

/**
 * What API Gateway sends with the 403 of a valid token that has none of the route's scopes, e.g.
 * `Bearer scope="a b" error="insufficient_scope" error_description="expected scopes: [a b]"` (RFC 6750, section 3.1).
 */
function insufficientScopeChallenge(scopes: readonly string[]): string {
  const list = scopes.join(' ');
  return `Bearer scope="${list}" error="insufficient_scope" error_description="expected scopes: [${list}]"`;
}

function sourceIp(request: IncomingMessage): string {
  return (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
}

export async function startApiGateway(options: ApiGatewayOptions): Promise<ApiGateway> {
  const logger = options.logger ?? createLogger({ level: logLevelFrom(process.env) }).child({ component: 'api-gateway' });
  const matchRoute = createRouter(options.routes);
  const authorize = createJwtAuthorizer(options.jwt);
  const timeoutMs = options.functionTimeoutMs ?? 30_000;
  const corsOrigins = new Set(options.corsOrigins ?? []);
  // What a browser may send: the methods of the routes, as the CDK app's CORS configuration (infra/constructs/http-api.ts).
  const corsMethods = [...new Set([...options.routes.map((definition) => definition.route.split(' ')[0] as string), 'OPTIONS'])].join(',');
  let ownOrigin = '';

  function corsHeaders(request: IncomingMessage): Array<readonly [string, string]> {
    const origin = request.headers.origin;
    if (!origin || (origin !== ownOrigin && !corsOrigins.has(origin))) return [];
    return [
      ['access-control-allow-origin', origin],
      ['access-control-expose-headers', apiCorsExposeHeaders.join(',')],
      ['vary', 'origin'],
    ];
  }

  async function invoke(request: IncomingMessage, url: URL, requestId: string, body: Buffer): Promise<Reply & { routeKey?: string }> {
    const method = request.method ?? 'GET';
    const match = matchRoute(method, url.pathname);
    if (!match) return gatewayMessage(404, 'Not Found');
    const { definition, pathParameters } = match;
    let claims: HttpEvent['requestContext']['authorizer'] | undefined;
    if (definition.auth !== 'none') {
      const verdict = await authorize(request.headers.authorization);
      if (!verdict.authorized) {
        logger.info('apigw.unauthorized', { requestId, routeKey: definition.route, reason: verdict.reason });
        // Without a token API Gateway challenges with a bare `Bearer`; with a bad one it names the failure.
        const challenge = verdict.tokenPresent ? `Bearer scope="" error="invalid_token" error_description="${verdict.reason.replaceAll('"', "'")}"` : 'Bearer';
        return { ...gatewayMessage(401, 'Unauthorized', [['www-authenticate', challenge]]), routeKey: definition.route };
      }
      if (definition.scopes && !definition.scopes.some((scope) => verdict.scopes?.includes(scope))) {
        logger.info('apigw.forbidden', { requestId, routeKey: definition.route, reason: 'insufficient_scope', scopes: verdict.scopes });
        return { ...gatewayMessage(403, 'Forbidden', [['www-authenticate', insufficientScopeChallenge(definition.scopes)]]), routeKey: definition.route };
      }
      claims = { jwt: { claims: verdict.claims, scopes: verdict.scopes } };
    }
    const handler = Object.hasOwn(options.handlers, definition.function) ? options.handlers[definition.function] : undefined;
    if (!handler) {
      logger.error('apigw.no_handler', { requestId, routeKey: definition.route, function: definition.function });
      return { ...gatewayMessage(500, 'Internal Server Error'), routeKey: definition.route };
    }
    const event = buildHttpEvent({
      routeKey: definition.route,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      pathParameters,
      headers: request.headers,
      body,
      ...(claims ? { claims: claims.jwt.claims, scopes: claims.jwt.scopes } : {}),
      sourceIp: sourceIp(request),
      requestId,
    });
    const context = lambdaContext(definition.function, { timeoutMs });
    try {
      const result = await withTimeout(handler(event, context), timeoutMs);
      if (result === timedOut) return { ...gatewayMessage(503, 'Service Unavailable'), routeKey: definition.route };
      const reply = replyFromResult(result);
      if (reply) return { ...reply, routeKey: definition.route };
      logger.error('apigw.malformed_result', { requestId, function: definition.function });
    } catch (error) {
      logger.error('apigw.function_error', { requestId, function: definition.function, error, stack: (error as Error).stack });
    }
    return { ...gatewayMessage(500, 'Internal Server Error'), routeKey: definition.route };
  }

  async function respond(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const startedAt = Date.now();
    const requestId = apiGatewayRequestId();
    const url = new URL(request.url ?? '/', 'http://placeholder');
    const cors = corsHeaders(request);
    const send = (reply: Reply & { routeKey?: string }) => {
      const headers = [...reply.headers, ...cors, ['apigw-requestid', requestId] as const];
      response.writeHead(reply.status, headers.flat());
      response.end(request.method === 'HEAD' ? undefined : reply.body);
      logger.info('apigw.request', { requestId, method: request.method, path: url.pathname, routeKey: reply.routeKey, status: reply.status, latencyMs: Date.now() - startedAt });
    };

    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      const preflight: Array<readonly [string, string]> = cors.length === 0 ? [] : [
        ['access-control-allow-methods', corsMethods],
        ['access-control-allow-headers', apiCorsAllowHeaders.join(',')],
        ['access-control-max-age', '600'],
      ];
      return send({ status: 204, headers: preflight, body: Buffer.alloc(0) });
    }
    if (request.method === 'GET' && url.pathname === jwksPath) return send(jsonReply(200, options.jwt.jwks));
    const local = options.localRoutes && Object.hasOwn(options.localRoutes, url.pathname) ? options.localRoutes[url.pathname] : undefined;
    const localHandler = local === undefined ? undefined : localRouteHandler(local, request.method);
    if (localHandler) return send(localReply(localHandler, url.searchParams));

    let body: Buffer;
    try {
      body = await readBody(request);
    } catch (error) {
      if (!(error instanceof RequestTooLarge)) throw error;
      response.setHeader('connection', 'close');
      return send(gatewayMessage(413, 'Request Entity Too Large'));
    }
    const reply = await invoke(request, url, requestId, body);
    if (reply.status === 404 && reply.routeKey === undefined && options.staticDir && (request.method === 'GET' || request.method === 'HEAD')) {
      const file = await resolveStaticFile(options.staticDir, url.pathname);
      if (file) {
        response.writeHead(200, { 'content-type': file.contentType, 'content-length': file.size, 'cache-control': 'no-cache', 'apigw-requestid': requestId });
        if (request.method === 'HEAD') return void response.end();
        createReadStream(file.path).pipe(response);
        logger.debug('apigw.static', { requestId, path: url.pathname, status: 200 });
        return;
      }
    }
    send(reply);
  }

  const server = createServer((request, response) => {
    respond(request, response).catch((error: unknown) => {
      logger.error('apigw.internal_error', { error, stack: (error as Error).stack });
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'Internal Server Error' }));
    });
  });
  const { origin: url, port } = await listenOn(server, options.port ?? 3000, options.host ?? '127.0.0.1');
  ownOrigin = url;
  logger.info('apigw.started', { url, routes: options.routes.length });
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
