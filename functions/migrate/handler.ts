/**
 * The migrations engine as a Lambda, invoked directly (not through HTTP):
 *
 *   aws lambda invoke --function-name <migrate> --payload '{"action":"status"}' out.json
 *   payload: { "action": "status" | "plan" | "up", "to"?: N }   (`to` only with plan and up)
 *
 * and at deploy time by infra's MigrationTrigger (aws-cdk-lib/triggers). That trigger's provider calls Lambda Invoke
 * with only FunctionName and InvocationType, no Payload, so the event is `{}`. An empty event therefore means "up":
 * the deploy applies pending migrations and fails loudly if one fails. Any other payload must name its action; a
 * payload that is not one of the shapes above throws a ValidationError, which Lambda reports as the function error.
 *
 * After an `up`, the database roles get LOGIN and the passwords of their secrets (DATABASE_ROLE_SECRET_ARNS, see
 * shared/db/roles.ts), so the functions that log in as those roles can do so once this deploy updates them. A full
 * `up` fails if a role is still missing afterwards; `up` with `to` below 0004 leaves missing roles alone.
 *
 * Same engine as the CLI (shared/migrations/cli.ts); it logs every step as JSON lines. Errors are thrown, never
 * turned into a result, so both `aws lambda invoke` and the trigger see the failure.
 */
import * as z from '../../shared/zod.js';
import type { Env } from '../../shared/config/reader.js';
import { createDriver, driverConfigFromEnv, type DriverConfig } from '../../shared/db/create-driver.js';
import { MigrationError, ValidationError } from '../../shared/errors.js';
import { setRolePasswords, type RolePasswordReport } from '../../shared/db/roles.js';
// request.js alone: the rest of shared/http brings middy, which a non-HTTP function does not need.
import { validateRequestPart } from '../../shared/http/request.js';
import type { Logger } from '../../shared/log.js';
import { functionConfigFromEnv, functionLogger, functionMetrics, type FunctionConfig } from '../../shared/runtime/config.js';
import type { DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import { createMigrator, type MigratorOptions } from '../../shared/migrations/engine.js';
import { lazyHandler } from '../../shared/runtime/lazy.js';
import { pendingNotesFor, pendingWorkSettingsFromEnv, type PendingWorkSettings } from '../../shared/storage/pending-work.js';
import { readRoleSecret, roleSecretSettingsFromEnv, type RoleSecretOptions, type RoleSecretSettings } from '../../shared/runtime/role-secrets.js';

const versionSchema = z.number({ error: 'must be a migration version' }).check(z.int(), z.positive());

export const migratePayloadSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('status') }),
  z.strictObject({ action: z.literal('plan'), to: z.optional(versionSchema) }),
  z.strictObject({ action: z.literal('up'), to: z.optional(versionSchema) }),
]);

export type MigratePayload = z.infer<typeof migratePayloadSchema>;

/** The deploy-time trigger's event: nothing at all, or an object without a single key. */
function isTriggerEvent(event: unknown): boolean {
  return event === undefined || event === null || (typeof event === 'object' && !Array.isArray(event) && Object.keys(event).length === 0);
}

export function parseMigratePayload(event: unknown): MigratePayload & { readonly source: 'invoke' | 'deploy-trigger' } {
  if (isTriggerEvent(event)) return { action: 'up', source: 'deploy-trigger' };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new ValidationError('the payload must be a JSON object such as {"action":"status"}', [{ path: [], message: 'expected an object' }]);
  }
  return { ...(validateRequestPart(migratePayloadSchema, event, 'request body')), source: 'invoke' };
}

export interface MigrateHandlerOptions extends DatabaseFunctionOptions {
  /** Engine timings (lease, index polling, lock timeouts); tests shorten them. */
  readonly migrator?: Omit<MigratorOptions, 'driver' | 'migrations' | 'logger'>;
  /** Where the role secrets are read (the extension's origin); tests point it at a stand-in. */
  readonly roleSecrets?: RoleSecretOptions;
}

/** The part of the Lambda context this function reads. */
export interface MigrateContext {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

export type MigrateHandler = (event: unknown, context?: MigrateContext) => Promise<Record<string, unknown>>;

// Stop waiting for another runner's lease this long before Lambda's own deadline, so the error is ours, with a message.
const deadlineMarginMs = 10_000;

/** Everything the migrate function reads from its environment, parsed once at cold start. */
export interface MigrateConfig extends FunctionConfig {
  /** The driver only: migrations build no VideoDB, so no capability cache. */
  readonly driver: DriverConfig;
  readonly roleSecrets: RoleSecretSettings;
  /** PENDING_WORK_BUCKET: after migrations apply, reconcile must restore what was deferred; noted there. */
  readonly pendingWork: PendingWorkSettings | undefined;
}

export function migrateConfigFromEnv(env: Env): MigrateConfig {
  return { ...functionConfigFromEnv(env), driver: driverConfigFromEnv(env), roleSecrets: roleSecretSettingsFromEnv(env), pendingWork: pendingWorkSettingsFromEnv(env) };
}

export async function createHandler(env: Env, options: MigrateHandlerOptions = {}): Promise<MigrateHandler> {
  const config = migrateConfigFromEnv(env);
  const baseLogger = functionLogger(config, 'migrate', options);
  const driver = options.driver ?? (await createDriver(config.driver, { logger: baseLogger, metrics: functionMetrics(baseLogger, 'migrate', options) }));
  const roleSecretArns = config.roleSecrets.arns;
  const pendingWork = options.pendingWork ?? pendingNotesFor(config.pendingWork, { logger: baseLogger });

  const setPasswords = async (logger: Logger, requireAll: boolean): Promise<RolePasswordReport[]> => {
    const credentials = await Promise.all(roleSecretArns.map((arn) => readRoleSecret(arn, config.roleSecrets, options.roleSecrets)));
    const reports = await setRolePasswords(driver, credentials);
    logger.info('migrate.roles.passwords', { roles: reports });
    const missing = reports.filter((report) => report.outcome === 'missing').map((report) => report.role);
    if (requireAll && missing.length > 0) {
      throw new MigrationError(`every migration ran but the database role${missing.length > 1 ? 's' : ''} ${missing.join(', ')} still do${missing.length > 1 ? '' : 'es'} not exist`);
    }
    return reports;
  };

  return async (event, context) => {
    const logger = baseLogger.child({ requestId: context?.awsRequestId });
    let payload: ReturnType<typeof parseMigratePayload>;
    try {
      payload = parseMigratePayload(event);
    } catch (error) {
      logger.error('migrate.invoke.invalid_payload', { error });
      throw error;
    }
    logger.info('migrate.invoke.start', { action: payload.action, source: payload.source, ...('to' in payload && { to: payload.to }) });
    const remainingMs = context?.getRemainingTimeInMillis?.();
    const lease = remainingMs === undefined ? options.migrator?.lease : { ...options.migrator?.lease, waitMs: Math.max(0, remainingMs - deadlineMarginMs) };
    const migrator = createMigrator({ driver, logger, ...options.migrator, ...(lease && { lease }) });
    const to = 'to' in payload && payload.to !== undefined ? { to: payload.to } : {};
    try {
      const result =
        payload.action === 'status' ? await migrator.status() : payload.action === 'plan' ? await migrator.plan(to) : await migrator.up(to);
      const roles = payload.action === 'up' && roleSecretArns.length > 0 ? await setPasswords(logger, to.to === undefined) : undefined;
      // Columns that were missing exist now: reconcile restores the deferred data on its next run, paused or not.
      const ran = payload.action === 'up' && 'ran' in result && Array.isArray(result.ran) ? result.ran.length : 0;
      if (ran > 0) await pendingWork.note('migration', { by: payload.source, ran });
      logger.info('migrate.invoke.ok', { action: payload.action });
      return { action: payload.action, source: payload.source, driver: driver.name, result, ...(roles && { roles }) };
    } catch (error) {
      logger.error('migrate.invoke.failed', { action: payload.action, error });
      throw error;
    }
  };
}

export const handler = lazyHandler(() => createHandler(process.env));
