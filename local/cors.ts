/**
 * What the local API and the local S3 tell browsers, and which extra origins they allow (`CORS_ORIGINS`).
 * The header lists are the CDK app's (infra/constructs/http-api.ts); test/infra checks that the two agree.
 */

/** Request headers a cross-origin page may send to the API: its token, its JSON, its retry key. */
export const apiCorsAllowHeaders: readonly string[] = ['authorization', 'content-type', 'idempotency-key'];

/** Response headers a cross-origin page may read from the API: a replayed create, when to retry, the request id. */
export const apiCorsExposeHeaders: readonly string[] = ['idempotent-replayed', 'retry-after', 'apigw-requestid'];

/**
 * `CORS_ORIGINS`: comma-separated exact origins (`http://localhost:5173`), allowed beside the stack's own. Blank
 * items are ignored; anything that is not an origin (a path, a trailing slash, `*`) is an error before the stack
 * starts, because a browser's `Origin` would never equal it and the page would be refused without a word.
 */
export function parseCorsOrigins(text: string | undefined): readonly string[] {
  if (text === undefined) return [];
  const origins = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    const ok = parsed !== undefined && (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === origin;
    if (!ok) {
      const hint = parsed !== undefined && parsed.origin !== 'null' ? ` (did you mean ${parsed.origin}?)` : '';
      throw new Error(`CORS_ORIGINS must list origins such as http://localhost:5173 (scheme, host and port only), got ${JSON.stringify(origin)}${hint}`);
    }
  }
  return [...new Set(origins)];
}
