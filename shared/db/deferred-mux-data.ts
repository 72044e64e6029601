/**
 * Deferral: Mux data the schema cannot hold yet is always logged as a structured event, and kept in
 * `deferred_mux_data` when that table exists (mid-migration), so nothing is silently dropped; after the migration
 * the reconcile job restores it from the table or from Mux.
 */
import { hasTable, type SchemaCapabilities } from './capabilities.js';
import { sqlValue, type Executor, type JsonValue } from './driver.js';
import { utcNow } from './schema.js';
import type { MuxField, MuxFields } from './video-fields.js';
import type { DeferralListener } from './video-types.js';
import type { Logger } from '../log.js';
import { noMetrics, type Metrics } from '../metrics.js';

export async function deferMuxFields(
  executor: Executor,
  logger: Logger,
  capabilities: SchemaCapabilities,
  deferral: { videoId: string; mux: Partial<MuxFields>; fields: readonly MuxField[]; event: string },
  metrics: Metrics = noMetrics,
  onDeferred?: DeferralListener,
): Promise<void> {
  const { videoId, mux, fields, event } = deferral;
  const payload: Record<string, JsonValue> = {};
  for (const field of fields) {
    const value = mux[field];
    payload[field] = value instanceof Date ? value.toISOString() : ((value ?? null) as JsonValue);
  }
  logger.warn(event, { videoId, fields, payload });
  // Kept in the table once it exists; before that (0001) the log line above is the only copy, and reconcile
  // restores the fields from Mux instead.
  const stored = hasTable(capabilities, 'deferred_mux_data');
  if (stored) {
    await executor.execute(
      `INSERT INTO deferred_mux_data (video_id, payload) VALUES (:videoId, :payload)
       ON CONFLICT (video_id) DO UPDATE SET payload = deferred_mux_data.payload || EXCLUDED.payload, reconciled_at = NULL`,
      { videoId: sqlValue.uuid(videoId), payload: sqlValue.json(payload) },
    );
  }
  metrics.count('DeferredPayloadsWritten', 1, { properties: { videoId, stored, fields: [...fields] } });
  await onDeferred?.({ videoId, stored });
}

/** Deferred payloads are JSON: timestamps come back as ISO strings and are turned into Dates again. */
function muxFieldsFromJson(payload: Partial<Record<MuxField, unknown>>): Partial<MuxFields> {
  const fields: Partial<Record<MuxField, unknown>> = { ...payload };
  for (const field of ['createdAt', 'readyAt'] as const) {
    const value = fields[field];
    if (typeof value === 'string') fields[field] = new Date(value);
  }
  return fields as Partial<MuxFields>;
}

/** Deferred Mux data not yet restored, oldest first. */
export async function listDeferredMuxData(
  executor: Executor,
  capabilities: SchemaCapabilities,
  limit: number,
): Promise<{ videoId: string; fields: Partial<MuxFields> }[]> {
  if (!hasTable(capabilities, 'deferred_mux_data')) return [];
  const { rows } = await executor.execute<{ video_id: string; payload: Partial<MuxFields> }>(
    'SELECT video_id, payload FROM deferred_mux_data WHERE reconciled_at IS NULL ORDER BY created_at LIMIT :limit',
    { limit },
  );
  return rows.map((row) => ({ videoId: row.video_id, fields: muxFieldsFromJson(row.payload) }));
}

export async function markDeferredReconciled(executor: Executor, videoId: string): Promise<void> {
  await executor.execute(`UPDATE deferred_mux_data SET reconciled_at = ${utcNow} WHERE video_id = :videoId`, {
    videoId: sqlValue.uuid(videoId),
  });
}
