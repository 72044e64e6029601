/**
 * Editing a video's title and description (PATCH /api/videos/{id}). The owner may edit, and so may an admin; anyone
 * else is told the video does not exist, exactly as a read would (shared/videos/access.ts), so ids cannot be probed.
 */
import type { Executor } from '../db/driver.js';
import type { VideoDB } from '../db/video-db.js';
import type { VideoRecord, VideoStatus } from '../db/video-fields.js';
import { updateVideoText, type VideoTextChange } from '../db/video-text-db.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { loadVisibleVideo, type Viewer } from './access.js';

/**
 * Statuses in which an edit is refused with a 409: a video being deleted (so an edit cannot race the deletion and
 * write personal data back into a row that is going away). Every other stored video may be renamed, a cancelled
 * one too.
 */
export const statusesRefusingEdits: readonly VideoStatus[] = ['deleting'];

export interface VideoEditsOptions {
  readonly executor: Executor;
  /** For telling a refused edit from a missing video (only read when an edit was refused). */
  readonly videos: Pick<VideoDB, 'findById'>;
  /** Default {@link statusesRefusingEdits}. */
  readonly refuseStatuses?: readonly VideoStatus[];
}

export class VideoEdits {
  readonly #executor: Executor;
  readonly #videos: Pick<VideoDB, 'findById'>;
  readonly #refuseStatuses: readonly VideoStatus[];

  constructor(options: VideoEditsOptions) {
    this.#executor = options.executor;
    this.#videos = options.videos;
    this.#refuseStatuses = options.refuseStatuses ?? statusesRefusingEdits;
  }

  /** The video after the edit; NotFoundError for a missing or invisible one, ConflictError in a refused status. */
  async edit(viewer: Viewer, id: string, change: VideoTextChange): Promise<VideoRecord> {
    const update = { id, change, ...(viewer.admin ? {} : { ownerId: viewer.sub }), refuseStatuses: this.#refuseStatuses };
    // A second try only for a video that left a refused status between the update and the read.
    for (let attempt = 1; ; attempt += 1) {
      const edited = await updateVideoText(this.#executor, update);
      if (edited !== null) return edited;
      if (this.#refuseStatuses.length === 0) throw new NotFoundError(`No video ${id}.`);
      const current = await loadVisibleVideo(this.#videos, id, viewer);
      if (this.#refuseStatuses.includes(current.status) || attempt === 2) {
        throw new ConflictError(`Video ${id} is ${current.status} and cannot be edited now.`);
      }
    }
  }
}
