/**
 * Verifies bearer tokens the way the API Gateway HTTP API JWT authorizer does, and renders the claims the way it
 * passes them to Lambda (every value a string, arrays as "[a b]").
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { JwtClaims } from '../../shared/http/types.js';

export interface JwtAuthorizerConfig {
  readonly issuer: string;
  /** A token's `aud` (or, only when `aud` is absent, its `client_id`) must match one of these. */
  readonly audience: string | readonly string[];
  readonly jwks: JSONWebKeySet;
}

export type AuthorizerResult =
  | { readonly authorized: true; readonly claims: JwtClaims; readonly scopes: string[] | null }
  | { readonly authorized: false; readonly reason: string; readonly tokenPresent: boolean };

// API Gateway supports only RSA-based algorithms.
const rsaAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

function claimAsString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(claimAsString).join(' ')}]`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

export function apiGatewayClaims(payload: JWTPayload): JwtClaims {
  return Object.fromEntries(Object.entries(payload).map(([name, value]) => [name, claimAsString(value)]));
}

function scopesOf(payload: JWTPayload): string[] | null {
  const scope = payload.scope ?? payload.scp;
  if (typeof scope === 'string') return scope.split(' ').filter((item) => item.length > 0);
  if (Array.isArray(scope)) return scope.map(String);
  return null;
}

function audienceMatches(payload: JWTPayload, accepted: readonly string[]): boolean {
  // The authorizer evaluates `aud` when present and falls back to `client_id` (Cognito access tokens) only without it.
  const presented = payload.aud !== undefined ? [payload.aud].flat() : [payload.client_id].filter((id) => typeof id === 'string');
  return presented.some((aud) => accepted.includes(aud));
}

export function createJwtAuthorizer(config: JwtAuthorizerConfig): (authorization: string | undefined) => Promise<AuthorizerResult> {
  const keys = createLocalJWKSet(config.jwks);
  const accepted = [config.audience].flat();
  return async (authorization) => {
    // The identity source may hold the bare token or the token after "Bearer ".
    const token = authorization?.replace(/^Bearer\s+/i, '').trim();
    if (!token) return { authorized: false, reason: 'no token in the Authorization header', tokenPresent: false };
    try {
      if (decodeProtectedHeader(token).kid === undefined) return { authorized: false, reason: 'the token has no kid header', tokenPresent: true };
      const { payload } = await jwtVerify(token, keys, { issuer: config.issuer, algorithms: rsaAlgorithms, requiredClaims: ['exp'] });
      if (!audienceMatches(payload, accepted)) return { authorized: false, reason: 'the token does not have a valid audience', tokenPresent: true };
      return { authorized: true, claims: apiGatewayClaims(payload), scopes: scopesOf(payload) };
    } catch (error) {
      return { authorized: false, reason: (error as Error).message, tokenPresent: true };
    }
  };
}
