/**
 * Starting the stack's services, one function each: the database (PostgreSQL at a URL, or PGlite on disk or in
 * memory), the local S3 with its object-created notifications, the Mux emulator; and the helpers they share
 * (a preferred port that falls back to a free one, the real-Mux binding key kept in `.local/`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { S3EventRecord } from 'aws-lambda';
import type { Logger } from '../../shared/log.js';
import type { Env } from '../../shared/config/reader.js';
import type { BackendConfig } from '../data-api/server.js';
import type { LocalEventBridge } from '../eventbridge/server.js';
import type { GeneratedSigningKey } from '../mux-emulator/playback.js';
import type { MuxEmulator } from '../mux-emulator/server.js';
import { createPgliteCluster, hasPgliteCluster } from '../pglite-cluster.js';
import type { LocalS3 } from '../s3/server.js';
import { localAccountId, localRegion } from '../api-gateway/event.js';
import { conditionalWritesExemptKeys, localBucket, localEventBusName, localStateDir, localUploadPrefix, type LocalStackOptions } from './config.js';

/** The folder the stack's state defaults into (LocalStackOptions.stateDir). */
export function stateDirOf(options: Pick<LocalStackOptions, 'stateDir'>): string {
  return options.stateDir ?? localStateDir;
}

function isAddressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE';
}

/** A preferred port for a helper service, or any free one if it is taken (the API's own port is never moved). */
export async function onPreferredPort<T>(port: number, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (error) {
    if (port === 0 || !isAddressInUse(error)) throw error;
    return start(0);
  }
}

/** The database the local Data API serves; `close` is a no-op for one the caller owns. */
export interface OpenedDatabase {
  readonly config: BackendConfig;
  readonly kind: 'pglite' | 'postgres';
  readonly dataDir: string | null;
  readonly close: () => Promise<void>;
}

/**
 * The asset binding key: MUX_BINDING_KEY when set (real Mux), else one generated on first use and kept in `file`, so
 * assets created before a restart still verify after it — real Mux's, or the emulator's when it keeps its assets.
 */
export async function keptBindingKey(environment: Env, file: string): Promise<string> {
  if (environment.MUX_BINDING_KEY) return environment.MUX_BINDING_KEY;
  const kept = await readFile(file, 'utf8').catch(() => '');
  if (kept.trim().length > 0) return kept.trim();
  const key = randomBytes(32).toString('base64url');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, key, { mode: 0o600 });
  return key;
}

export function firstExistingDir(candidates: readonly string[]): string | undefined {
  return candidates.find((candidate) => existsSync(join(candidate, 'index.html')));
}

export async function openDatabase(options: LocalStackOptions, environment: Env): Promise<OpenedDatabase> {
  if (options.database) {
    return { config: options.database, kind: options.database.kind, dataDir: null, close: async () => {} };
  }
  const url = environment.DATABASE_URL;
  if (url) return { config: { kind: 'postgres', url }, kind: 'postgres', dataDir: null, close: async () => {} };
  const dataDir = options.dataDir === undefined ? join(stateDirOf(options), 'pglite') : options.dataDir;
  if (dataDir !== null) {
    if (options.freshDataDir) await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true });
    if (!hasPgliteCluster(dataDir)) await createPgliteCluster(dataDir);
  }
  // Loaded only when used, like the functions load their drivers.
  const { PGlite } = await import('@electric-sql/pglite');
  const db: PGlite = await PGlite.create(dataDir ?? undefined);
  return { config: { kind: 'pglite', db }, kind: 'pglite', dataDir, close: () => db.close() };
}

/** The local S3 on its preferred port, notifying `onObjectCreated` of every object under the upload prefix. */
export async function startS3(
  options: LocalStackOptions,
  settings: { readonly corsOrigins: readonly string[]; readonly onObjectCreated: (record: S3EventRecord) => void; readonly logger: Logger },
): Promise<{ s3: LocalS3; credentials: { accessKeyId: string; secretAccessKey: string } }> {
  const { startLocalS3, localS3Credentials } = await import('../s3/server.js');
  const s3 = await onPreferredPort(options.servicePorts?.s3 ?? 0, (port) =>
    startLocalS3({
      port,
      directory: options.s3Dir ?? join(stateDirOf(options), 's3'),
      bucket: localBucket,
      region: localRegion,
      notificationPrefix: localUploadPrefix,
      requireConditionalWrites: { exceptKeys: conditionalWritesExemptKeys(localUploadPrefix) },
      corsOrigins: [...settings.corsOrigins],
      credentials: localS3Credentials,
      ...(options.s3MinPartBytes !== undefined && { minPartBytes: options.s3MinPartBytes }),
      onObjectCreated: settings.onObjectCreated,
      logger: settings.logger,
    }),
  );
  return { s3, credentials: localS3Credentials };
}

export interface EmulatorSecrets {
  readonly tokenId: string;
  readonly tokenSecret: string;
  readonly webhookSecret: string;
}

/** Fresh credentials for the emulator: nothing made for one run is accepted by the next. */
export function emulatorSecrets(): EmulatorSecrets {
  return { tokenId: `local-${randomBytes(6).toString('hex')}`, tokenSecret: randomBytes(24).toString('hex'), webhookSecret: randomBytes(24).toString('hex') };
}

/**
 * The Mux emulator on its preferred port, opening signed playback ids to tokens of `signingKey`; webhooks go nowhere
 * until the API is up (`setWebhookUrl`).
 */
export async function startMux(
  options: LocalStackOptions,
  settings: { readonly secrets: EmulatorSecrets; readonly signingKey: GeneratedSigningKey | null; readonly stateFile: string | undefined; readonly logger: Logger },
): Promise<MuxEmulator> {
  const { secrets, signingKey, logger } = settings;
  const { startMuxEmulator } = await import('../mux-emulator/server.js');
  return onPreferredPort(options.servicePorts?.mux ?? 0, (port) =>
    startMuxEmulator({
      port,
      ...(settings.stateFile !== undefined && { stateFile: settings.stateFile }),
      ...secrets,
      signingKeys: signingKey === null ? [] : [{ keyId: signingKey.keyId, publicKey: signingKey.publicKeyPem }],
      webhookUrl: null,
      ...(options.muxProcessingDelayMs !== undefined && { processingDelayMs: options.muxProcessingDelayMs }),
      logger,
    }),
  );
}

/**
 * The forward rule's URL: `options.eventBridge.forwardUrl`, else EVENTS_FORWARD_URL; an http(s) URL or an error
 * before anything starts.
 */
export function eventsForwardUrl(options: LocalStackOptions, environment: Env): string | undefined {
  const raw = options.eventBridge?.forwardUrl ?? environment.EVENTS_FORWARD_URL;
  if (raw === undefined || raw.trim() === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw.trim());
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new Error(`EVENTS_FORWARD_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  return url.href;
}

/** The local EventBridge on its preferred port, with the stack's bus and, when given, the forward rule. */
export async function startEventBridge(options: LocalStackOptions, forwardUrl: string | undefined, logger: Logger): Promise<LocalEventBridge> {
  const { startLocalEventBridge } = await import('../eventbridge/server.js');
  return onPreferredPort(options.servicePorts?.eventBridge ?? 0, (port) =>
    startLocalEventBridge({
      port,
      buses: [localEventBusName],
      region: localRegion,
      account: localAccountId,
      ...(forwardUrl !== undefined && { forwardUrl }),
      ...(options.eventBridge?.forwardRetryDelaysMs !== undefined && { forwardRetryDelaysMs: options.eventBridge.forwardRetryDelaysMs }),
      ...(options.eventBridge?.capacity !== undefined && { capacity: options.eventBridge.capacity }),
      logger,
    }),
  );
}
