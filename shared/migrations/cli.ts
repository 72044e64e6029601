/**
 * The operator's migration tool: `npm run migrate -- status|plan|up [--to N]`.
 *
 * Talks to whatever the environment names (see driverConfigFromEnv): a real cluster through the Data API
 * (RDS_RESOURCE_ARN, RDS_SECRET_ARN, RDS_DATABASE), the local Data API endpoint (plus DATA_API_ENDPOINT), a
 * PostgreSQL URL (DATABASE_URL), or PGlite (PGLITE_DATA_DIR). Prints the result as JSON on stdout, logs JSON lines
 * on stderr, and exits non-zero on failure, so it scripts cleanly in CI and deploy pipelines.
 */
import { pathToFileURL } from 'node:url';
import { createDriver, driverConfigFromEnv } from '../db/create-driver.js';
import type { Driver } from '../db/driver.js';
import { ReelayError } from '../errors.js';
import { createLogger, logLevelFrom } from '../log.js';
import { createMigrator } from './engine.js';

const usage = 'usage: npm run migrate -- status | plan [--to N] | up [--to N]';

type Command = { name: 'status' } | { name: 'plan' | 'up'; to?: number };

class UsageError extends Error {}

export function parseArguments(args: readonly string[]): Command {
  const [name, ...rest] = args;
  if (name !== 'status' && name !== 'plan' && name !== 'up') throw new UsageError(usage);
  let to: number | undefined;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] as string;
    const value = arg.startsWith('--to=') ? arg.slice('--to='.length) : arg === '--to' ? rest[++i] : undefined;
    if (value === undefined || name === 'status' || !/^\d+$/.test(value)) throw new UsageError(`unexpected argument "${arg}"\n${usage}`);
    to = Number(value);
  }
  return name === 'status' ? { name } : { name, ...(to !== undefined && { to }) };
}

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: CliIo = {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs one command; resolves to the process exit code (0 ok, 1 failed, 2 bad usage). */
export async function runMigrateCli(args: readonly string[], io: CliIo = processIo): Promise<number> {
  let command: Command;
  try {
    command = parseArguments(args);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n`);
    return 2;
  }
  const logger = createLogger({ level: logLevelFrom(io.env), sink: (line) => io.stderr(`${line}\n`), keys: { tool: 'migrate' } });
  const config = driverConfigFromEnv(io.env);
  const report = (body: Record<string, unknown>) =>
    io.stdout(`${JSON.stringify({ driver: config.kind, command: command.name, ...body }, null, 2)}\n`);
  let driver: Driver | undefined;
  try {
    driver = await createDriver(config, { logger });
    const migrator = createMigrator({ driver, logger });
    const to = command.name !== 'status' && command.to !== undefined ? { to: command.to } : {};
    const result =
      command.name === 'status' ? await migrator.status() : command.name === 'plan' ? await migrator.plan(to) : await migrator.up(to);
    report({ result });
    return 0;
  } catch (error) {
    const code = error instanceof ReelayError ? error.code : 'unexpected_error';
    logger.error('migrate.cli.failed', { command: command.name, error });
    report({ error: { code, message: (error as Error).message } });
    return 1;
  } finally {
    await driver?.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // As `npm start` does (local/start.ts): the AWS SDK warns under Node 20 that its 2027 releases will need Node 22,
  // on stderr among the JSON log lines. The functions run on nodejs22.x; the operator's Node is theirs to choose.
  // The SDK's own switch, only when the operator has not set it either way.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.exitCode = await runMigrateCli(process.argv.slice(2));
}
