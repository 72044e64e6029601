/**
 * Who is signed in. Locally: a pasted token from `npm run token` (or a dev token endpoint). In AWS: Cognito's Hosted UI
 * with the authorization-code flow and PKCE (RFC 7636), the flow meant for public clients such as a browser app.
 *
 * The token lives in sessionStorage: it survives a reload (an upload can resume) but not the tab, and no other tab
 * or later visit picks it up. The claims are decoded only to shape the page (name, admin view); the API verifies
 * every request itself.
 */
import type { CognitoAuthConfig, ConsoleConfig } from './config.js';

export interface Session {
  readonly token: string;
  readonly sub: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly isAdmin: boolean;
  /** Seconds since the epoch. */
  readonly expiresAt: number | null;
}

const tokenKey = 'reelay.token';
const pkceKey = 'reelay.pkce';

function base64UrlDecode(segment: string): string {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(segment.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

function base64UrlEncode(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The session a JWT describes, or an error message saying why it cannot be used. `adminGroup` is compared by exact name. */
export function sessionFromToken(rawToken: string, adminGroup = 'admin', now = Date.now() / 1000): Session | { error: string } {
  const token = rawToken.trim().replace(/^Bearer\s+/i, '');
  const parts = token.split('.');
  if (parts.length !== 3) return { error: 'That is not a JWT: it should be three dot-separated parts.' };
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(base64UrlDecode(parts[1] ?? '')) as Record<string, unknown>;
  } catch {
    return { error: 'The token’s payload is not readable JSON.' };
  }
  if (typeof claims.sub !== 'string') return { error: 'The token has no subject (sub claim).' };
  const expiresAt = typeof claims.exp === 'number' ? claims.exp : null;
  if (expiresAt !== null && expiresAt <= now) return { error: 'The token has expired; mint a new one.' };
  const groups = Array.isArray(claims['cognito:groups']) ? claims['cognito:groups'].filter((group): group is string => typeof group === 'string') : [];
  const name = [claims.email, claims['cognito:username'], claims.username, claims.sub].find((value): value is string => typeof value === 'string') ?? claims.sub;
  return { token, sub: claims.sub, name, groups, isAdmin: groups.includes(adminGroup), expiresAt };
}

export function currentSession(adminGroup?: string): Session | null {
  const stored = sessionStorage.getItem(tokenKey);
  if (!stored) return null;
  const session = sessionFromToken(stored, adminGroup);
  if ('error' in session) {
    sessionStorage.removeItem(tokenKey);
    return null;
  }
  return session;
}

export function signInWithToken(token: string): Session | { error: string } {
  const session = sessionFromToken(token);
  if (!('error' in session)) sessionStorage.setItem(tokenKey, session.token);
  return session;
}

export async function devSignIn(url: string, sub: string, admin: boolean): Promise<Session | { error: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub, admin }) });
  if (!response.ok) return { error: `The dev sign-in endpoint answered ${response.status}.` };
  const body = (await response.json()) as { token?: unknown };
  return typeof body.token === 'string' ? signInWithToken(body.token) : { error: 'The dev sign-in endpoint returned no token.' };
}

function redirectUri(config: CognitoAuthConfig): string {
  return config.redirectUri ?? `${location.origin}${location.pathname}`;
}

/** Sends the browser to the Hosted UI; it comes back to `redirectUri` with `?code=…&state=…`. */
export async function startCognitoSignIn(config: CognitoAuthConfig): Promise<void> {
  const verifier = base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64UrlEncode(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64UrlEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(pkceKey, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(config),
    scope: (config.scopes ?? ['openid', 'email', 'profile']).join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  location.assign(`${config.domain}/oauth2/authorize?${query}`);
}

/**
 * Finishes the code flow when the page is the Hosted UI's redirect: checks `state`, trades the code and the PKCE
 * verifier for tokens at `/oauth2/token`, keeps the access token (API Gateway's authorizer accepts it: it carries
 * `client_id` and `cognito:groups`). Returns null when the page is not a redirect.
 */
export async function completeCognitoSignIn(config: CognitoAuthConfig): Promise<Session | { error: string } | null> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const returnedError = params.get('error');
  if (!code && !returnedError) return null;
  history.replaceState(null, '', `${location.pathname}${location.hash}`);
  const stored = sessionStorage.getItem(pkceKey);
  sessionStorage.removeItem(pkceKey);
  if (returnedError) return { error: `Sign-in failed: ${params.get('error_description') ?? returnedError}` };
  const pkce = stored ? (JSON.parse(stored) as { verifier: string; state: string }) : null;
  if (!pkce || pkce.state !== params.get('state')) return { error: 'Sign-in failed: the answer did not match this browser’s request. Try again.' };
  const response = await fetch(`${config.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: config.clientId, code: code ?? '', redirect_uri: redirectUri(config), code_verifier: pkce.verifier }),
  });
  if (!response.ok) return { error: `Sign-in failed: the token endpoint answered ${response.status}.` };
  const tokens = (await response.json()) as { access_token?: unknown };
  return typeof tokens.access_token === 'string' ? signInWithToken(tokens.access_token) : { error: 'Sign-in failed: no access token came back.' };
}

export function signOut(config: ConsoleConfig): void {
  sessionStorage.removeItem(tokenKey);
  if (config.auth.kind === 'cognito') {
    const query = new URLSearchParams({ client_id: config.auth.clientId, logout_uri: redirectUri(config.auth) });
    location.assign(`${config.auth.domain}/logout?${query}`);
  }
}
