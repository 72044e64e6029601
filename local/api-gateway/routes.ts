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
