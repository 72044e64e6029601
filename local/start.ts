/**
 * `npm start [-- --port 3000] [--schema=legacy] [--fresh] [--log=pretty|json] [--reconcile-every 60] [--state-dir .local]`: the local stack
 * (local/stack.ts), with a summary of where everything is, until Ctrl-C. Typing `r` + Enter runs reconcile at once.
 * The web console is rebuilt beside the stack when web/src changed (web/build.ts); the API never waits for it.
 *
 * `--schema=legacy` starts a separate, freshly created database kept at migration 0001 (the basic table production
 * had before the Mux columns), so the fallback can be watched and then fixed live with `npm run migrate -- up`.
 */
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, type LogFields, type Logger, type LogLevel } from '../shared/log.js';
import { buildConsoleIfStale, defaultOutDir as consoleDir } from '../web/build.js';
import { localBucket, localStateDir, startLocalStack, type LocalStack, type SchemaMode } from './stack.js';

const usage =
  'usage: npm start -- [--port <n>] [--schema=latest|legacy] [--fresh] [--log=pretty|json] [--reconcile-every <seconds>] ' +
  "[--admin-group <name>] [--route-scopes '<JSON, as -c routeScopes>'] [--state-dir <folder>]";

interface StartArguments {
  readonly port: number;
  readonly schema: SchemaMode;
  readonly fresh: boolean;
  readonly log: 'pretty' | 'json';
  readonly reconcileEverySeconds: number;
  /** Undefined: ADMIN_GROUP from the environment, else `admin` (local/stack.ts). */
  readonly adminGroup: string | undefined;
  readonly routeScopes: unknown;
  /** Where the database, bucket, queue, emulator assets and token keys are kept: --state-dir, else `.local` (or REELAY_LOCAL_DIR: local/stack/config.ts). */
  readonly stateDir: string;
}

function parseRouteScopesArgument(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`--route-scopes must be JSON such as '{"POST /api/videos/upload":["reelay/upload"]}': ${(error as Error).message}`);
  }
}

function parseStartArguments(args: readonly string[], env: NodeJS.ProcessEnv): StartArguments {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string' },
      schema: { type: 'string', default: 'latest' },
      fresh: { type: 'boolean', default: false },
      log: { type: 'string' },
      'reconcile-every': { type: 'string', default: '60' },
      'admin-group': { type: 'string' },
      'route-scopes': { type: 'string' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const rawPort = values.port ?? env.PORT ?? '3000';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65_535) throw new Error(`--port must be a port number, got "${rawPort}"`);
  if (values.schema !== 'latest' && values.schema !== 'legacy') throw new Error(`--schema must be latest or legacy, got "${values.schema}"`);
  const log = values.log ?? (process.stdout.isTTY ? 'pretty' : 'json');
  if (log !== 'pretty' && log !== 'json') throw new Error(`--log must be pretty or json, got "${log}"`);
  const reconcileEverySeconds = Number(values['reconcile-every']);
  if (!Number.isFinite(reconcileEverySeconds) || reconcileEverySeconds < 0) {
    throw new Error(`--reconcile-every must be a number of seconds (0: only on demand), got "${values['reconcile-every']}"`);
  }
  return {
    port,
    schema: values.schema,
    fresh: values.fresh,
    log,
    reconcileEverySeconds,
    adminGroup: values['admin-group'],
    routeScopes: parseRouteScopesArgument(values['route-scopes']),
    stateDir: resolve(values['state-dir'] ?? localStateDir),
  };
}

const levelColours: Record<string, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** One JSON log line as `12:00:01 INFO  component event key=value …`. */
function prettyLine(line: string, colour: boolean): string {
  // An EMF metric line's directive is for CloudWatch; the name, value and dimensions stay readable beside it.
  const { level, event, time, component, function: functionName, _aws: _directive, ...fields } = JSON.parse(line) as LogFields;
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  const label = String(level).toUpperCase().padEnd(5);
  const source = [component, functionName].filter((part) => typeof part === 'string').join('/');
  const rest = Object.entries(fields).map(([key, value]) => `${key}=${formatValue(value)}`).join(' ');
  const head = colour ? `${levelColours[String(level)] ?? ''}${label}\x1b[0m` : label;
  return `${clock} ${head} ${source ? `${source} ` : ''}${String(event)}${rest ? ` ${rest}` : ''}`;
}

function logLevelFromEnv(env: NodeJS.ProcessEnv): LogLevel {
  const level = env.LOG_LEVEL?.toLowerCase();
  return level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
}

/** The migration engine's per-step lines: each carries the step's whole SQL, which only a debugging reader wants. */
const stepEvents = new Set(['migrate.step.start', 'migrate.step.ok']);

/**
 * Below debug, a start logs one line per migration, not two per step with its SQL: the SQL is in
 * shared/migrations/ and in `npm run migrate -- plan`, and a log collected without a terminal (CI, a service
 * manager) should read as the start it was. A failed step is an error line and always shown.
 */
function conciseStartLine(line: string, level: LogLevel): string | undefined {
  if (level === 'debug') return line;
  const { event } = JSON.parse(line) as LogFields;
  return typeof event === 'string' && stepEvents.has(event) ? undefined : line;
}

function createStartLogger(format: 'pretty' | 'json', env: NodeJS.ProcessEnv): Logger {
  const colour = process.stdout.isTTY === true && env.NO_COLOR === undefined;
  const level = logLevelFromEnv(env);
  const write = format === 'json' ? (line: string) => process.stdout.write(`${line}\n`) : (line: string) => process.stdout.write(`${prettyLine(line, colour)}\n`);
  return createLogger({
    level,
    sink: (line) => {
      const shownLine = conciseStartLine(line, level);
      if (shownLine !== undefined) write(shownLine);
    },
  });
}

const shown = (path: string) => relative(process.cwd(), path) || '.';

function reconcileLine(everySeconds: number, keyboard: boolean): string {
  if (keyboard) return `${everySeconds > 0 ? `every ${everySeconds} s; ` : ''}type r + Enter here to run it now`;
  return everySeconds > 0 ? `every ${everySeconds} s` : 'off (--reconcile-every 0)';
}

function summary(stack: LocalStack, args: StartArguments, seconds: string, keyboard: boolean): string {
  const { urls } = stack;
  const database = stack.database.kind === 'postgres'
    ? 'PostgreSQL at DATABASE_URL'
    : `PGlite in ${stack.database.dataDir ? shown(stack.database.dataDir) : 'memory'}`;
  const version = stack.database.migrated.currentVersion;
  const mux = urls.mux
    ? `emulator at ${urls.mux} (signed webhooks to ${urls.api}/api/webhooks/mux)`
    : `REAL Mux${stack.env.MUX_BASE_URL ? ` at ${stack.env.MUX_BASE_URL}` : ''} (MUX_TOKEN_ID is set): it must be able to fetch ${urls.s3} and reach ${urls.api}/api/webhooks/mux — use a tunnel`;
  const lines = [
    '',
    `reelay local stack is up in ${seconds} s`,
    '',
    `  API          ${urls.api}`,
    `  Console      ${urls.api}/  (files in ${shown(consoleDir)})`,
    `  Health       ${urls.health}  (liveness; the full check: ${urls.api}/api/database/health/details with an admin token)`,
    `  Database     ${database}, schema version ${version}${args.schema === 'legacy' ? ' (legacy: only 0001 applied)' : ''}`,
    `  Data API     ${urls.dataApi}`,
    `  S3           ${urls.s3}  bucket ${localBucket}, files in ${shown(join(args.stateDir, 's3'))}`,
    `  Mux          ${mux}`,
    `  Events       ${urls.events}  (bus ${stack.env.EVENT_BUS_NAME} on the local EventBridge at ${urls.eventBridge}` +
      `${stack.eventBridge.forwarding ? `; reelay events forwarded to ${stack.eventBridge.forwarding.url}` : '; set EVENTS_FORWARD_URL to forward them'})`,
    `  Metrics      ${urls.api}/_local/metrics  (the functions' EMF metrics added up, as CloudWatch would)`,
    // The keyboard is read only from a terminal (main below): without one, no hint to type anything.
    `  Reconcile    ${reconcileLine(args.reconcileEverySeconds, keyboard)}`,
    `  CORS         the API's own origin${stack.corsOrigins.length > 0 ? ` and ${stack.corsOrigins.join(', ')}` : '; CORS_ORIGINS=<origin>,… adds the origins of your app'}`,
    `  Admins       the group ${JSON.stringify(stack.env.ADMIN_GROUP)} (npm run token -- --admin${stack.env.ADMIN_GROUP === 'admin' ? '' : ` --admin-group ${stack.env.ADMIN_GROUP}`})`,
    ...(args.routeScopes === undefined ? [] : [`  Scopes       ${JSON.stringify(args.routeScopes)} (npm run token -- --scope <scope>)`]),
    '',
    'Try it (another shell):',
    '  TOKEN=$(npm run -s token -- --sub alice)',
    `  curl -s ${urls.health}`,
    `  curl -s -H "Authorization: Bearer $TOKEN" ${urls.api}/api/videos`,
    `  curl -s -X POST ${urls.api}/api/videos/upload -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
    `       -d '{"title":"Demo","filename":"demo.mp4","contentType":"video/mp4","size":1048576}'`,
    '  (the README has the whole walkthrough: PUT the file, watch it become ready, multipart, admin routes)',
    '',
    'Migrate this database while it runs:',
    `  ${stack.migrateCommand('status')}`,
    `  ${stack.migrateCommand('up')}`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseStartArguments(process.argv.slice(2), process.env);
  const logger = createStartLogger(args.log, process.env);
  // The AWS SDK warns on every start under Node 20 that its 2027 releases will need Node 22; the functions run on
  // nodejs22.x in AWS, so locally it is noise. Its own switch, only when the developer has not set it either way.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const consoleBuild = buildConsoleIfStale().then(
    ({ rebuilt }) => {
      if (rebuilt) logger.info('local_stack.console_built', { dir: shown(consoleDir) });
    },
    (error: unknown) => logger.warn('local_stack.console_build_failed', { error, hint: 'npm run build:web shows why' }),
  );
  const legacy = args.schema === 'legacy';
  const starting = startLocalStack({
    port: args.port,
    servicePorts: args.port === 0 ? {} : { dataApi: args.port + 1, s3: args.port + 2, mux: args.port + 3, eventBridge: args.port + 4 },
    schema: args.schema,
    // The legacy demo gets its own database, created fresh each time, so it always starts at 0001.
    stateDir: args.stateDir,
    dataDir: join(args.stateDir, legacy ? 'pglite-legacy' : 'pglite'),
    freshDataDir: legacy || args.fresh,
    reconcileIntervalMs: args.reconcileEverySeconds * 1000,
    staticDir: consoleDir,
    ...(args.adminGroup !== undefined && { adminGroup: args.adminGroup }),
    ...(args.routeScopes !== undefined && { routeScopes: args.routeScopes }),
    logger,
  });
  // Listening before the stack is up: a signal that comes while it starts (or as the summary shows) stops it cleanly
  // once it is up, instead of Node's default for an unhandled SIGTERM, which ends the process on the spot.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stdout.write('Stopping already; exiting now.\n');
      process.exit(130);
    }
    stopping = true;
    logger.info('local_stack.stopping', { signal });
    // A console build under way finishes first, so it never leaves a half-written folder behind.
    Promise.all([starting.then((stack) => stack.stop()), consoleBuild]).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('local_stack.stop_failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const stack = await starting;
  // Since the process started: what a developer waits for, module loading included.
  process.stdout.write(summary(stack, args, process.uptime().toFixed(1), process.stdin.isTTY === true));

  if (process.stdin.isTTY) {
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (input: string) => {
      if (!['r', 'reconcile'].includes(input.trim().toLowerCase())) return;
      stack.invoke.reconcile().then(
        (result) => logger.info('local_stack.reconcile.done', { trigger: 'keyboard', result }),
        (error: unknown) => logger.error('local_stack.reconcile.failed', { trigger: 'keyboard', error }),
      );
    });
  }

}

main().catch((error: unknown) => {
  const address = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (is another `npm start` running? try --port)' : '';
  process.stderr.write(`npm start failed: ${(error as Error).message}${address}\n${usage}\n`);
  process.exitCode = 1;
});

