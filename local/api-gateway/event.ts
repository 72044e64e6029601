/**
 * Payload-format-2.0 events and Lambda contexts as API Gateway and the Lambda runtime build them, for the emulator
 * and for tests that call a handler directly.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { HttpEvent, JwtClaims, LambdaContext } from '../../shared/http/types.js';

export const localAccountId = '000000000000';
export const localRegion = 'us-east-1';

export interface HttpEventInput {
  /** `"METHOD /path/{param}"`; the method and, unless `rawPath` is given, the path follow from it. */
  readonly routeKey: string;
  readonly rawPath?: string;
  readonly rawQueryString?: string;
  readonly pathParameters?: Readonly<Record<string, string>>;
  /** Any case; arrays are joined with commas as API Gateway does for repeated headers. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: string | Buffer;
  /** Present only for routes behind the JWT authorizer. */
  readonly claims?: JwtClaims;
  readonly scopes?: string[] | null;
  readonly sourceIp?: string;
  readonly requestId?: string;
  readonly time?: Date;
}

// API Gateway passes these bodies as text; everything else arrives base64-encoded.
const textContentType = /^(?:text\/|application\/(?:json|javascript|xml|x-www-form-urlencoded|[\w.-]+\+(?:json|xml))\b)/i;

export function isTextContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && textContentType.test(contentType.trim());
}

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
function apiGatewayTime(date: Date): string {
  const [, day, month, year, time] = date.toUTCString().replace(',', '').split(' ');
  return `${day}/${month}/${year}:${time} +0000`;
}

/** An API Gateway style request id, e.g. `JKJaXmPLvHcESHA=`. */
export function apiGatewayRequestId(): string {
  return randomBytes(11).toString('base64');
}

function fillPath(template: string, pathParameters: Readonly<Record<string, string>>): string {
  return template.replace(/\{([^}+]+)\+?\}/g, (_match, name: string) => encodeURIComponent(pathParameters[name] ?? '').replace(/%2F/gi, '/'));
}

function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(rawQueryString)) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  return grouped.size === 0 ? undefined : Object.fromEntries([...grouped].map(([name, values]) => [name, values.join(',')]));
}

export function buildHttpEvent(input: HttpEventInput): HttpEvent {
  const [method = 'GET', template = '/'] = input.routeKey.split(' ');
  const rawPath = input.rawPath ?? fillPath(template, input.pathParameters ?? {});
  const rawQueryString = input.rawQueryString ?? '';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = typeof value === 'string' ? value : value.join(',');
  }
  // Payload 2.0 moves cookies out of the headers into their own array.
  const cookies = headers.cookie?.split(';').map((cookie) => cookie.trim()).filter((cookie) => cookie.length > 0);
  delete headers.cookie;
  const time = input.time ?? new Date();
  const host = headers.host ?? 'localhost';
  const bodyBytes = input.body === undefined ? undefined : Buffer.from(input.body);
  const base64 = bodyBytes !== undefined && bodyBytes.length > 0 && !isTextContentType(headers['content-type']);
  const query = queryParameters(rawQueryString);
  const requestContext: HttpEvent['requestContext'] = {
    accountId: localAccountId,
    apiId: 'local',
    domainName: host,
    domainPrefix: host.split('.')[0] ?? host,
    http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: input.sourceIp ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
    requestId: input.requestId ?? apiGatewayRequestId(),
    routeKey: input.routeKey,
    stage: '$default',
    time: apiGatewayTime(time),
    timeEpoch: time.getTime(),
  };
  if (input.claims) requestContext.authorizer = { jwt: { claims: input.claims, scopes: input.scopes ?? null } };
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext,
    ...(bodyBytes && bodyBytes.length > 0 ? { body: bodyBytes.toString(base64 ? 'base64' : 'utf8') } : {}),
    ...(input.pathParameters && Object.keys(input.pathParameters).length > 0 ? { pathParameters: { ...input.pathParameters } } : {}),
    isBase64Encoded: base64,
  };
}

export interface LambdaContextOptions {
  readonly timeoutMs?: number;
  readonly memoryMb?: number;
  readonly awsRequestId?: string;
}

function unsupportedCallback(name: string): () => never {
  return () => {
    throw new Error(`context.${name}() is the legacy callback style; reelay handlers return promises`);
  };
}

export function lambdaContext(functionName: string, options: LambdaContextOptions = {}): LambdaContext {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${localRegion}:${localAccountId}:function:${functionName}`,
    memoryLimitInMB: String(options.memoryMb ?? 1024),
    awsRequestId: options.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${today}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupportedCallback('done'),
    fail: unsupportedCallback('fail'),
    succeed: unsupportedCallback('succeed'),
  };
}
