/**
 * The client's wire types (client/types.ts) are plain, so apps need no zod; this file makes the compiler check them
 * against the server's own types and schemas. A field added, removed or retyped on one side fails `npm run
 * typecheck` (and so `npm test`) until the other side follows.
 */
import type * as z from 'zod';
import type * as client from '../../client/index.js';
import type { completeBody, createUploadBody, signPartsBody } from '../../functions/uploads/handler.js';
import type { editVideoBody } from '../../functions/video-changes/handler.js';
import type { ReelayErrorCode } from '../../shared/errors.js';
import type { VideoJson } from '../../shared/videos/presenter.js';
import type { CreatedUpload, UploadProgress } from '../../shared/videos/upload-service.js';
import type { DeletionWait } from '../../shared/videos/video-deletion.js';
import type { SignedParts } from '../../shared/storage/uploads.js';
import type { VideoStatus } from '../../shared/db/video-fields.js';

/** True when each type is assignable to the other (readonly-ness aside, the same shape). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const wireTypesMatch: [
  Same<client.Video, VideoJson>,
  Same<client.VideoStatus, VideoStatus>,
  Same<client.CreateUploadRequest, z.input<typeof createUploadBody>>,
  Same<client.CreatedUpload, CreatedUpload>,
  Same<client.SignedParts, SignedParts>,
  Same<{ partNumbers: number[] }, z.input<typeof signPartsBody>>,
  Same<client.UploadProgress, UploadProgress>,
  Same<{ parts: client.CompletedPart[] }, z.input<typeof completeBody>>,
  Same<client.VideoChanges, z.input<typeof editVideoBody>>,
  Same<client.ApiErrorCode, ReelayErrorCode>,
  Same<client.DeletionWait, DeletionWait>,
] = [true, true, true, true, true, true, true, true, true, true, true];
