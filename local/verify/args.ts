/**
 * `npm run verify`'s command line, parsed once into a {@link VerifyConfig}. No environment variable is read: every
 * setting is a flag, so a CI log shows what was checked.
 */
import { parseArgs } from 'node:util';
import * as z from 'zod';

export const usage =
  'usage: npm run verify -- --api <url> [--token <jwt>] [--admin-token <jwt>] [--apply-migrations] [--timeout <seconds>] [--clip <file>]';

export interface VerifyConfig {
  /** The API's base URL without a trailing slash, e.g. `http://127.0.0.1:3000`. */
  readonly api: string;
  /** A user's bearer token; without one the upload checks are skipped. */
  readonly token: string | null;
  /** A token in the admin group; without one the database and migration checks are skipped. */
  readonly adminToken: string | null;
  /** POST /api/database/run-mux-migration when migrations are pending (needs the admin token). */
  readonly applyMigrations: boolean;
  /** How long the uploaded video may take to become `ready`, and the bound on each request. */
  readonly timeoutMs: number;
  /** A video file to upload instead of the built-in MP4 head (which only the Mux emulator accepts as media). */
  readonly clipPath: string | null;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const flags = z
  .object({
    api: z.url({ protocol: /^https?$/, error: '--api must be an http(s) URL such as http://127.0.0.1:3000' }),
    token: z.string().min(1, '--token must not be empty').optional(),
    'admin-token': z.string().min(1, '--admin-token must not be empty').optional(),
    'apply-migrations': z.boolean(),
    timeout: z.coerce.number({ error: '--timeout must be a number of seconds' }).positive('--timeout must be a positive number of seconds'),
    clip: z.string().min(1).optional(),
  })
  .refine((values) => !values['apply-migrations'] || values['admin-token'] !== undefined, {
    error: '--apply-migrations needs --admin-token (the migration route is for the admin group)',
  });

export function parseVerifyArguments(args: readonly string[]): VerifyConfig {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        api: { type: 'string' },
        token: { type: 'string' },
        'admin-token': { type: 'string' },
        'apply-migrations': { type: 'boolean', default: false },
        timeout: { type: 'string', default: '120' },
        clip: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.api === undefined) throw new UsageError('--api is required');
  const parsed = flags.safeParse(values);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((issue) => issue.message).join('; '));
  const flag = parsed.data;
  return {
    api: flag.api.replace(/\/+$/, ''),
    token: flag.token ?? null,
    adminToken: flag['admin-token'] ?? null,
    applyMigrations: flag['apply-migrations'],
    timeoutMs: Math.round(flag.timeout * 1000),
    clipPath: flag.clip ?? null,
  };
}
