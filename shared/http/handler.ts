/**
 * Router-style HTTP handlers over middy: one Lambda serves several API Gateway routes, each declared with its auth
 * level and zod schemas, so the `handle` function receives typed, validated input and every failure takes one path
 * to the response (shared/http/response.ts).
 *
 *   export const handler = httpHandler({ name: 'videos', adminGroup: config.adminGroup, routes: {
 *     'GET /api/videos/{id}': route({ auth: 'user', params: idParams, handle: async ({ params, principal }) => ({ status: 200, body: ... }) }),
 *   } });
 */
import middy, { type MiddlewareObj, type MiddyfiedHandler } from '@middy/core';
// Types only: a function whose routes take no schema (health) bundles no zod (docs/PERFORMANCE.md, P2).
import type * as z from '../zod.js';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { principalFromEvent, type Principal } from './principal.js';
import { assertBodyWithinLimit, bodyBytes, lowercaseHeaders, parseJsonBody, validateRequestPart, type RequestPart } from './request.js';
import { errorToHttpResult, toHttpResult, type RouteResponse } from './response.js';
import type { AuthLevel, HttpEvent, HttpResult, LambdaContext } from './types.js';

export type PrincipalFor<A extends AuthLevel> = A extends 'none' ? Principal | undefined : Principal;
type Parsed<S, Fallback> = S extends z.ZodMiniType ? z.output<S> : Fallback;
type StringMap = Readonly<Record<string, string | undefined>>;

export interface RouteRequest<A extends AuthLevel, Body, Params, Query> {
  /** The validated JSON body; `undefined` on routes without a `body` schema (read `rawBody` there). */
  readonly body: Body;
  readonly params: Params;
  readonly query: Query;
  readonly principal: PrincipalFor<A>;
  /** The body exactly as sent (base64 undone), for signature checks such as Mux's. */
  readonly rawBody: string;
  /** Request headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** A logger whose lines carry the request ids and the route. */
  readonly logger: Logger;
  readonly requestId: string;
  readonly event: HttpEvent;
  readonly context: LambdaContext;
}

export interface RouteOptions<A extends AuthLevel, B extends z.ZodMiniType | undefined, P extends z.ZodMiniType | undefined, Q extends z.ZodMiniType | undefined> {
  readonly auth: A;
  /** The JSON body's schema. Without one the body is not parsed at all (raw routes such as webhooks). */
  readonly body?: B;
  readonly params?: P;
  readonly query?: Q;
  /** Overrides the handler-wide body size limit for this route. */
  readonly maxBodyBytes?: number;
  readonly handle: (request: RouteRequest<A, Parsed<B, undefined>, Parsed<P, StringMap>, Parsed<Q, StringMap>>) => Promise<RouteResponse>;
}

export interface IncomingRequest {
  readonly event: HttpEvent;
  readonly context: LambdaContext;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** The exact group name that makes a principal an admin; absent on handlers whose routes are all public. */
  readonly adminGroup: string | undefined;
}

/** A route with its types erased: what `httpHandler` dispatches to. Build one with {@link route}. */
export interface Route {
  readonly auth: AuthLevel;
  run(request: IncomingRequest): Promise<RouteResponse>;
}

/** A path parameter `{id}` that must be a UUID: a malformed id is the caller's mistake (400), not a 404 or 500. */

function authorize<A extends AuthLevel>(auth: A, principal: Principal | undefined): PrincipalFor<A> {
  if (auth !== 'none' && principal === undefined) throw new UnauthorizedError('A valid bearer token is required.');
  if (auth === 'admin' && principal?.admin !== true) throw new ForbiddenError('This operation requires the admin group.');
  // The checks above are exactly what PrincipalFor<A> states; TypeScript cannot narrow a conditional type itself.
  return principal as PrincipalFor<A>;
}

function parseOptional(schema: z.ZodMiniType | undefined, value: unknown, part: RequestPart): unknown {
  return schema === undefined ? value : validateRequestPart(schema, value, part);
}

/** Declares one route; the generics flow from the schemas into `handle`'s argument. */
export function route<
  A extends AuthLevel,
  B extends z.ZodMiniType | undefined = undefined,
  P extends z.ZodMiniType | undefined = undefined,
  Q extends z.ZodMiniType | undefined = undefined,
>(options: RouteOptions<A, B, P, Q>): Route {
  return {
    auth: options.auth,
    async run({ event, context, logger, maxBodyBytes, adminGroup }) {
      // Order matters: an unauthenticated caller learns nothing about the route's validation rules.
      const principal = authorize(options.auth, adminGroup === undefined ? undefined : principalFromEvent(event, adminGroup));
      const bytes = bodyBytes(event);
      assertBodyWithinLimit(bytes.length, options.maxBodyBytes ?? maxBodyBytes);
      const headers = lowercaseHeaders(event.headers);
      const rawBody = bytes.toString('utf8');
      // Each cast restates Parsed<>: no schema yields the fallback, a schema yields its output.
      const params = parseOptional(options.params, event.pathParameters ?? {}, 'path parameters') as Parsed<P, StringMap>;
      const query = parseOptional(options.query, event.queryStringParameters ?? {}, 'query parameters') as Parsed<Q, StringMap>;
      const json = options.body === undefined ? undefined : parseJsonBody(rawBody, headers['content-type']);
      const body = parseOptional(options.body, json, 'request body') as Parsed<B, undefined>;
      return options.handle({ body, params, query, principal, rawBody, headers, logger, requestId: context.awsRequestId, event, context });
    },
  };
}

export interface HttpHandlerOptions {
  /** The function's name in functions/routes.json; it goes on every log line. */
  readonly name: string;
  /** Route key (`"POST /api/videos/{id}/upload/parts"`, as in functions/routes.json) → route. */
  readonly routes: Readonly<Record<string, Route>>;
  readonly logger?: Logger;
  /** The largest body accepted, in bytes (default 1 MiB; API Gateway itself stops at 10 MB). */
  readonly maxBodyBytes?: number;
  /**
   * The group whose members are admins, compared by exact name (the function's `ADMIN_GROUP`, shared/runtime/config.ts).
   * Required when any route takes a token: a handler that forgot it would otherwise fall back to some default name.
   */
  readonly adminGroup?: string;
}

export type HttpHandler = MiddyfiedHandler<HttpEvent, HttpResult, Error, LambdaContext>;

export const defaultMaxBodyBytes = 1024 * 1024;
const routeKeyShape = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) \/\S*$/;

interface RequestState {
  readonly startedAt: number;
  readonly logger: Logger;
}

/** The middleware that makes every answer an HTTP result: request logging (id, route, status, latency), one error mapper. */
function httpErrorsAndLogging(baseLogger: Logger, states: WeakMap<HttpEvent, RequestState>): MiddlewareObj<HttpEvent, HttpResult, Error, LambdaContext> {
  let coldStart = true;
  const finish = (event: HttpEvent, status: number | undefined) => {
    const state = states.get(event);
    state?.logger.info('http.request', { status, latencyMs: state ? Date.now() - state.startedAt : undefined });
  };
  return {
    name: 'reelay-http',
    before: ({ event, context }) => {
      const logger = baseLogger.child({
        requestId: context.awsRequestId,
        apiRequestId: event.requestContext?.requestId,
        routeKey: event.routeKey,
        method: event.requestContext?.http?.method,
        path: event.rawPath,
        coldStart,
      });
      coldStart = false;
      states.set(event, { startedAt: Date.now(), logger });
    },
    after: ({ event, response }) => finish(event, response?.statusCode),
    onError: (request) => {
      const logger = states.get(request.event)?.logger ?? baseLogger;
      request.response = errorToHttpResult(request.error, logger, request.context.awsRequestId);
      finish(request.event, request.response.statusCode);
    },
  };
}

export function httpHandler(options: HttpHandlerOptions): HttpHandler {
  for (const key of Object.keys(options.routes)) {
    if (!routeKeyShape.test(key)) throw new Error(`httpHandler(${options.name}): "${key}" is not a route key such as "GET /api/videos/{id}"`);
  }
  const { adminGroup } = options;
  if (adminGroup === undefined && Object.values(options.routes).some((route) => route.auth !== 'none')) {
    throw new Error(`httpHandler(${options.name}): routes that take a token need adminGroup (ADMIN_GROUP)`);
  }
  const baseLogger = (options.logger ?? createLogger()).child({ function: options.name });
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const states = new WeakMap<HttpEvent, RequestState>();
  const dispatch = async (event: HttpEvent, context: LambdaContext): Promise<HttpResult> => {
    const selected = Object.hasOwn(options.routes, event.routeKey) ? options.routes[event.routeKey] : undefined;
    // API Gateway only sends the routes wired to this function, so a miss means the wiring and the code disagree.
    if (!selected) throw new NotFoundError(`No route ${event.routeKey} in function ${options.name}.`);
    const logger = states.get(event)?.logger ?? baseLogger;
    return toHttpResult(await selected.run({ event, context, logger, maxBodyBytes, adminGroup }));
  };
  return middy<HttpEvent, HttpResult, Error, LambdaContext>(dispatch).use(httpErrorsAndLogging(baseLogger, states));
}
