/**
 * The schema library every reelay schema is written with: zod 4's `zod/mini`, the same validators and the same
 * JSON Schema output (`z.toJSONSchema`) as classic `zod`, but made of functions instead of methods, so a bundle
 * carries and evaluates only the parts its schemas use. Classic zod cost every database function about 95 KiB
 * evaluated at import and most of its schema-building time at cold start (docs/PERFORMANCE.md, P2).
 *
 * `zod/mini` ships no error messages by default ("Invalid input" for everything); the English ones classic zod
 * configures on import are configured here, so the 400s name the same problems. Import it from this module
 * (`import * as z from '…/zod.js'`), not from 'zod/mini', so that they always are.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

// Re-exported name by name (not as one namespace object), so esbuild still drops what a bundle does not use.
export * from 'zod/mini';
