import type { HttpEvent, JwtClaims } from './types.js';

/** Who is calling, from the claims the JWT authorizer verified. `sub` is the owner of the caller's videos. */
export interface Principal {
  readonly sub: string;
  readonly groups: readonly string[];
  readonly admin: boolean;
  readonly claims: JwtClaims;
}

export const adminGroup = 'admin';
const groupsClaim = 'cognito:groups';

function groupsFromJsonArray(text: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed;
  } catch {
    // Not JSON: API Gateway's own "[a b]" rendering, handled by the caller.
  }
  return undefined;
}

/**
 * API Gateway flattens array claims to strings, and the rendering depends on the path the token took: `"[admin
 * editors]"` from the JWT authorizer, `"admin,editors"` from some identity providers, or a JSON array string. A
 * direct invocation may still pass a real array. All of them mean the same list of groups.
 */
export function parseGroups(value: JwtClaims[string] | undefined): string[] {
  if (value === undefined || typeof value === 'boolean' || typeof value === 'number') return [];
  if (Array.isArray(value)) return value.filter((group) => group.length > 0);
  const text = value.trim();
  if (text.startsWith('[')) {
    const fromJson = groupsFromJsonArray(text);
    if (fromJson) return fromJson.filter((group) => group.length > 0);
  }
  const inner = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return inner.split(/[\s,]+/).filter((group) => group.length > 0);
}

export function principalFromClaims(claims: JwtClaims | undefined): Principal | undefined {
  const sub = claims?.sub;
  if (!claims || typeof sub !== 'string' || sub.length === 0) return undefined;
  const groups = parseGroups(claims[groupsClaim]);
  return { sub, groups, admin: groups.includes(adminGroup), claims };
}

export function principalFromEvent(event: HttpEvent): Principal | undefined {
  return principalFromClaims(event.requestContext.authorizer?.jwt?.claims);
}
