/**
 * The WHERE clauses VideoDB writes with: which video a write or a Mux event is about, and the guard that keeps Mux
 * progress from moving a video backwards. Placeholders come from the statement's {@link SqlParams}.
 */
import { hasColumn, type SchemaCapabilities } from './capabilities.js';
import { sqlValue } from './driver.js';
import type { MuxFields, VideoStatus } from './video-fields.js';
import type { AssetBinding } from './video-types.js';
import type { SqlParams } from './video-write.js';
import { acceptsAssetEvents, muxStatusRank, videoStatusRank } from '../videos/status-rules.js';

/** WHERE for the videos bound to an asset (see {@link AssetBinding}); null when the schema cannot locate any. */
export function bindingClause(capabilities: SchemaCapabilities, binding: AssetBinding, params: SqlParams): string | null {
  const storesAsset = hasColumn(capabilities, 'videos', 'mux_asset_id');
  if (!('videoId' in binding)) return storesAsset ? `mux_asset_id = ${params.add(binding.assetId)}` : null;
  const video = `id = ${params.add(sqlValue.uuid(binding.videoId))}`;
  if (!storesAsset) return video;
  const attempted = hasColumn(capabilities, 'videos', 'ingest_attempts') ? ` AND ingest_attempts >= ${params.add(binding.attempt)}` : '';
  return `${video} AND (mux_asset_id = ${params.add(binding.assetId)} OR (mux_asset_id IS NULL${attempted}))`;
}

/**
 * Mux progress never moves a video backwards: the update is refused when the stored Mux status (or, on a legacy
 * schema, the video status) ranks above the reported one. Which asset may report is the binding's business
 * ({@link bindingClause}); which videos may hear from Mux at all, `acceptsAssetEvents`.
 */
export function progressGuard(
  capabilities: SchemaCapabilities,
  params: SqlParams,
  report: { videoStatus?: VideoStatus; mux: Partial<MuxFields> },
): { sets: string[]; guard: string } {
  const sets: string[] = [];
  const guards = [acceptsAssetEvents];
  const next = report.videoStatus === undefined ? undefined : params.add(report.videoStatus);
  if (next !== undefined) sets.push(`status = CASE WHEN ${videoStatusRank('status')} <= ${videoStatusRank(next)} THEN ${next} ELSE status END`);
  if (report.mux.status != null && hasColumn(capabilities, 'videos', 'mux_status')) {
    guards.push(`${muxStatusRank('mux_status')} <= ${muxStatusRank(params.add(report.mux.status))}`);
  } else if (next !== undefined) {
    guards.push(`${videoStatusRank('status')} <= ${videoStatusRank(next)}`);
  }
  return { sets, guard: guards.join(' AND ') };
}

export const byId = (id: string, params: SqlParams) => `id = ${params.add(sqlValue.uuid(id))}`;
