import { ConfigurationError } from '../errors.js';
import type { HttpEvent, JwtClaims } from './types.js';

/** Who is calling, from the claims the JWT authorizer verified. `sub` is the owner of the caller's videos. */
export interface Principal {
  readonly sub: string;
  readonly groups: readonly string[];
  /** Whether `groups` holds the admin group's exact name. */
  readonly admin: boolean;
  readonly claims: JwtClaims;
}

export const defaultAdminGroup = 'admin';
const groupsClaim = 'cognito:groups';

/**
 * Amazon Cognito's GroupName pattern (CreateGroup, API reference): 1–128 letters, marks, symbols, numbers and
 * punctuation. No whitespace and no control characters, which is what makes API Gateway's `"[a b]"` rendering of
 * the groups array readable without loss (see {@link parseGroups}).
 */
const groupNamePattern = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;

/** The admin group's name as configured (`ADMIN_GROUP`), `admin` when unset; a name no Cognito group can have throws. */
export function parseAdminGroup(value: string | undefined): string {
  if (value === undefined || value === '') return defaultAdminGroup;
  if (!groupNamePattern.test(value)) {
    const accepted = 'a group name of 1–128 characters without spaces or control characters';
    throw new ConfigurationError(`ADMIN_GROUP must be ${accepted}, got ${JSON.stringify(value)}`, { variable: 'ADMIN_GROUP', accepted });
  }
  return value;
}

function jsonStringArray(text: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed;
  } catch {
    // Not JSON: API Gateway's own rendering.
  }
  return undefined;
}

/**
 * `cognito:groups` in each form it reaches a Lambda, read exactly — every name whole, never split on commas:
 *
 * - a real array (a direct invocation, a test event): the names as they are;
 * - a JSON array in a string (`'["admin","x,y"]'`, an identity provider that emits the claim as a string): its items;
 * - API Gateway's rendering of an array claim (HTTP API JWT authorizer): `"[admin editors]"`, the names joined by
 *   one space inside brackets. The space is ambiguous for a name that holds one, so this form is read only when no
 *   name can: an empty item (`"[ admin]"`, `"[admin ]"`, `"[a  b]"`) proves a name with a space and the whole claim
 *   counts as no groups. Cognito group names never contain whitespace (its GroupName pattern); an external issuer
 *   whose names may (`"x admin"` reads as `x` and `admin`) is a documented limit (docs/DEPLOY.md);
 * - any other string: one group of exactly that name (`"x,admin"` and `" admin "` are not `admin`).
 *
 * Anything else (numbers, booleans, arrays with non-strings) is no groups.
 */
export function parseGroups(value: JwtClaims[string] | undefined): string[] {
  if (Array.isArray(value)) return value.every((name) => typeof name === 'string' && name.length > 0) ? [...value] : [];
  if (typeof value !== 'string' || value.length === 0) return [];
  if (!(value.startsWith('[') && value.endsWith(']'))) return [value];
  const fromJson = jsonStringArray(value);
  if (fromJson) return fromJson.every((name) => name.length > 0) ? fromJson : [];
  const inner = value.slice(1, -1);
  if (inner.length === 0) return [];
  const names = inner.split(' ');
  return names.every((name) => name.length > 0) ? names : [];
}

/** The principal of a verified token, admin only when its groups hold `adminGroup` exactly (case and all). */
export function principalFromClaims(claims: JwtClaims | undefined, adminGroup: string): Principal | undefined {
  const sub = claims?.sub;
  if (!claims || typeof sub !== 'string' || sub.length === 0) return undefined;
  const groups = parseGroups(claims[groupsClaim]);
  return { sub, groups, admin: groups.includes(adminGroup), claims };
}

export function principalFromEvent(event: HttpEvent, adminGroup: string): Principal | undefined {
  return principalFromClaims(event.requestContext.authorizer?.jwt?.claims, adminGroup);
}
