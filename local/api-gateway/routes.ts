/**
 * The route table from functions/routes.json and API Gateway's route selection: a request goes to the route whose
 * path matches with the most literal segments, so `/api/videos/upload` would win over `/api/videos/{id}`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthLevel } from '../../shared/http/types.js';

export interface RouteDefinition {
  /** The route key, `"METHOD /path/{param}"`. */
  readonly route: string;
  /** The function's name in routes.json's `functions`. */
  readonly function: string;
  readonly auth: AuthLevel;
  /** API Gateway's authorizationScopes: a token must carry at least one of them. Set by {@link withRouteScopes}. */
  readonly scopes?: readonly string[];
}

export interface FunctionDefinition {
  readonly entry: string;
  readonly trigger: 'http' | 'sqs' | 'invoke' | 'schedule';
  readonly uses: readonly string[];
}

export interface RouteTable {
  readonly routes: readonly RouteDefinition[];
  readonly functions: Readonly<Record<string, FunctionDefinition>>;
}

export const routeTablePath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'functions', 'routes.json');

export function loadRouteTable(path = routeTablePath): RouteTable {
  return JSON.parse(readFileSync(path, 'utf8')) as RouteTable;
}

/** RFC 6749's scope-token: printable ASCII without space, `"` or `\\`. */
const scopeToken = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * The routes with the scopes of the `routeScopes` setting (the same JSON the CDK app reads as `-c routeScopes`,
 * docs/DEPLOY.md): keys are route keys or the auth levels `user` and `admin`, values non-empty lists of scopes; a
 * route key's entry replaces its level's. A key that names no route, or a public one, is refused, as synth refuses it.
 */
export function withRouteScopes(routes: readonly RouteDefinition[], setting: unknown): RouteDefinition[] {
  if (setting === undefined) return [...routes];
  const entries = typeof setting === 'object' && setting !== null && !Array.isArray(setting) ? Object.entries(setting) : undefined;
  if (!entries) throw new Error('route scopes must be a JSON object of route key or auth level to a list of scopes');
  const byKey = new Map<string, readonly string[]>();
  for (const [key, scopes] of entries) {
    const target = key === 'user' || key === 'admin' ? undefined : routes.find((route) => route.route === key);
    if (key !== 'user' && key !== 'admin' && !target) throw new Error(`route scopes: "${key}" is neither a route of functions/routes.json nor user or admin`);
    if (target?.auth === 'none') throw new Error(`route scopes: ${key} is public (auth "none"): scopes need the JWT authorizer`);
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((scope) => typeof scope === 'string' && scopeToken.test(scope))) {
      throw new Error(`route scopes: "${key}" must list one or more scopes without spaces or quotes, got ${JSON.stringify(scopes)}`);
    }
    byKey.set(key, scopes as string[]);
  }
  return routes.map((route) => {
    const scopes = byKey.get(route.route) ?? (route.auth === 'none' ? undefined : byKey.get(route.auth));
    return scopes ? { ...route, scopes } : route;
  });
}

export interface RouteMatch {
  readonly definition: RouteDefinition;
  readonly pathParameters: Record<string, string>;
}

type Segment = { readonly literal: string } | { readonly param: string; readonly greedy: boolean };

interface CompiledRoute {
  readonly definition: RouteDefinition;
  readonly method: string;
  readonly segments: readonly Segment[];
  readonly literalCount: number;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment.length > 0);
}

function compile(definition: RouteDefinition): CompiledRoute {
  const [method, path] = definition.route.split(' ');
  if (!method || !path) throw new Error(`routes.json: "${definition.route}" is not "METHOD /path"`);
  const segments = splitPath(path).map((segment): Segment => {
    const param = /^\{([^}+]+)(\+?)\}$/.exec(segment);
    return param?.[1] ? { param: param[1], greedy: param[2] === '+' } : { literal: segment };
  });
  return { definition, method, segments, literalCount: segments.filter((segment) => 'literal' in segment).length };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function matchSegments(route: CompiledRoute, parts: readonly string[]): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [index, segment] of route.segments.entries()) {
    if ('literal' in segment) {
      if (parts[index] !== segment.literal) return undefined;
    } else if (segment.greedy) {
      if (index >= parts.length) return undefined;
      parameters[segment.param] = parts.slice(index).map(decodeSegment).join('/');
      return parameters;
    } else {
      const part = parts[index];
      if (part === undefined) return undefined;
      parameters[segment.param] = decodeSegment(part);
    }
  }
  return parts.length === route.segments.length ? parameters : undefined;
}

export function createRouter(definitions: readonly RouteDefinition[]): (method: string, path: string) => RouteMatch | undefined {
  const compiled = definitions.map(compile).sort((a, b) => b.literalCount - a.literalCount);
  return (method, path) => {
    const parts = splitPath(path);
    for (const route of compiled) {
      if (route.method !== method && route.method !== 'ANY') continue;
      const pathParameters = matchSegments(route, parts);
      if (pathParameters) return { definition: route.definition, pathParameters };
    }
    return undefined;
  };
}
