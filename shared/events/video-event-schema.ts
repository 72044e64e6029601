/**
 * The events' contract as a schema: one per detail-type, from which docs/EVENTS.md's JSON Schemas are generated
 * (`npm run docs:events`) and against which the tests check every event the stack publishes. Not imported by any
 * function: the functions build events from the types in video-events.ts, this checks that they match.
 */
import * as z from 'zod';
import { videoStatuses } from '../db/video-fields.js';
import { muxStatuses } from '../db/video-fields.js';
import { detailTypes, eventStatuses, type DetailType, type EventStatus } from './video-events.js';

const isoTime = z.iso.datetime({ offset: true });
const nullableTime = isoTime.nullable();

/** The video as GET /api/videos/{id} shows it (shared/videos/presenter.ts), without playback tokens. */
export const videoJsonSchema = z.strictObject({
  id: z.uuid(),
  ownerId: z.string().describe('The `sub` of the uploader.'),
  title: z.string(),
  description: z.string().nullable(),
  status: z.enum(videoStatuses),
  filename: z.string(),
  contentType: z.string(),
  size: z.number().int().nonnegative(),
  createdAt: isoTime,
  updatedAt: isoTime,
  mux: z
    .strictObject({
      assetId: z.string().nullable(),
      playbackId: z.string().nullable(),
      uploadId: z.string().nullable(),
      status: z.enum(muxStatuses).nullable(),
      thumbnailUrl: z.string().nullable(),
      streamingUrl: z.string().nullable(),
      mp4Url: z.string().nullable(),
      durationSeconds: z.number().nullable(),
      aspectRatio: z.string().nullable(),
      createdAt: nullableTime,
      readyAt: nullableTime,
      error: z.string().nullable(),
      playbackPolicy: z.enum(['public', 'signed']),
      playbackTokenExpiresAt: nullableTime,
    })
    .nullable()
    .describe('null on a schema without the Mux columns (before migration 0002)'),
  audio: z.strictObject({ enhanced: z.boolean().nullable(), jobId: z.string().nullable() }).nullable(),
  captions: z
    .strictObject({
      webvttUrl: z.string().nullable(),
      srtUrl: z.string().nullable(),
      transcriptText: z.string().nullable(),
      transcriptConfidence: z.number().nullable(),
      jobId: z.string().nullable(),
    })
    .nullable(),
}).meta({ id: 'Video', title: 'Video', description: 'The video as GET /api/videos/{id} presents it, without playback tokens.' });

/** The `detail` of events of the detail-type whose status is `status`. */
export function detailSchema(status: EventStatus) {
  return z.strictObject({
    eventId: z.uuid().describe('Stable across redeliveries: deduplicate on it.'),
    videoId: z.uuid(),
    ownerId: z.string().describe('The `sub` of the uploader.'),
    status: z.literal(status),
    occurredAt: isoTime.describe('When the change was committed (UTC).'),
    video: videoJsonSchema,
    omitted: z.array(z.literal('captions.transcriptText')).optional().describe('Fields left out to keep the event within EventBridge limits.'),
  });
}

export const detailSchemas = Object.fromEntries(eventStatuses.map((status) => [detailTypes[status], detailSchema(status)])) as Record<DetailType, ReturnType<typeof detailSchema>>;

/** The JSON Schema (draft 2020-12) of a detail-type's `detail`, as docs/EVENTS.md prints it. */
export function detailJsonSchema(detailType: DetailType): Record<string, unknown> {
  const schema = z.toJSONSchema(detailSchemas[detailType], {
    // A named format (uuid, date-time) says it; zod's equivalent regular expression only makes the document unreadable.
    override: ({ jsonSchema }) => {
      if (typeof jsonSchema.format === 'string') delete jsonSchema.pattern;
    },
  });
  return { $id: `urn:reelay:events:${detailType.toLowerCase().replaceAll(' ', '-')}`, title: `${detailType}: detail`, ...schema };
}
