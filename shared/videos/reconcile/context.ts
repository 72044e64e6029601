/** What reconcile's sweeps are built from: the service's collaborators and settings, defaults applied. */
import type { VideoDB } from '../../db/video-db.js';
import type { VideoSweepDB } from '../../db/video-sweeps-db.js';
import type { EventOutbox } from '../../events/outbox.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import type { MuxRuntime } from '../../runtime/mux.js';
import type { UploadStorage } from '../../storage/uploads.js';
import type { AssetOwnership } from '../asset-ownership.js';
import type { CaptionsService } from '../captions-service.js';
import type { IngestService } from '../ingest-service.js';
import type { VideoDeletion } from '../video-deletion.js';
import type { ItemLoop } from './outcomes.js';

/** The collaborators every reconcile has (ReconcileServiceOptions extends this). */
export interface SweepCollaborators {
  readonly videos: VideoDB;
  readonly ingest: Pick<IngestService, 'ingestVideo'>;
  readonly captions: CaptionsService;
  readonly mux: Pick<MuxRuntime, 'gateway' | 'urls' | 'config'>;
  /** Decides which assets may be adopted. */
  readonly ownership: Pick<AssetOwnership, 'namesVideo' | 'refusal'>;
}

export interface SweepContext extends SweepCollaborators {
  readonly deletion: Pick<VideoDeletion, 'listUnfinished' | 'finish'> | undefined;
  readonly events: Pick<EventOutbox, 'sweep'> | undefined;
  readonly sweepDb: Pick<VideoSweepDB, 'listAwaitingUpload' | 'listStaleProcessing' | 'hasRecentAwaitingUpload'> | undefined;
  readonly storage: (() => Promise<Pick<UploadStorage, 'findObject'>>) | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => Date;
  readonly settings: ReconcileSettings;
}

/** The thresholds of the sweeps (see ReconcileServiceOptions for each one's meaning and default). */
export interface ReconcileSettings {
  readonly eventGraceSeconds: number;
  readonly maxIngestAttempts: number;
  readonly retryWindowSeconds: number;
  readonly backfillAfterSeconds: number;
  readonly staleClaimSeconds: number;
  readonly strandedAfterSeconds: number;
  readonly strandedMaxAgeSeconds: number;
  readonly uploadUrlTtlSeconds: number;
  readonly refreshAfterSeconds: number;
  readonly assetPages: number;
  readonly concurrency: number;
}

/** The item loop of a round: the context's concurrency and logger, the round's deadline. */
export const itemLoop = (context: SweepContext, timeUp: () => boolean): ItemLoop => ({ concurrency: context.settings.concurrency, logger: context.logger, timeUp });
