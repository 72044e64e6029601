/**
 * The parts of the API's answers that `npm run verify` reads, checked at runtime: a deployment that answers another
 * shape fails the check that read it, with the answer in the message. The shapes are the ones the handlers send
 * (shared/videos/upload-service.ts CreatedUpload, shared/videos/presenter.ts VideoJson, the admin function's bodies).
 */
import * as z from 'zod';
import { describeAnswer, type ApiAnswer } from './api.js';
import { CheckFailure } from './report.js';

export const livenessAnswer = z.object({ status: z.literal('ok') });

export const healthDetailsAnswer = z.object({
  status: z.string(),
  database: z.object({ connected: z.boolean(), latencyMs: z.number() }),
  schema: z.object({ version: z.number().nullable(), latestVersion: z.number().nullable() }),
});

export const migrationStatusAnswer = z.object({
  currentVersion: z.number(),
  latestVersion: z.number(),
  pending: z.array(z.object({ version: z.number() })),
  drift: z.array(z.unknown()),
  unknownApplied: z.array(z.unknown()),
  invalidIndexes: z.array(z.unknown()),
  muxColumns: z.object({ missing: z.array(z.string()) }),
});
export type MigrationStatus = z.infer<typeof migrationStatusAnswer>;

export const migrationRunAnswer = z.object({
  ran: z.array(z.object({ version: z.number() })),
  durationMs: z.number(),
  status: migrationStatusAnswer,
});

export const createdUploadAnswer = z.object({
  video: z.object({ id: z.string(), status: z.string() }),
  upload: z.discriminatedUnion('mode', [
    z.object({ mode: z.literal('single'), method: z.string(), url: z.string(), headers: z.record(z.string(), z.string()) }),
    z.object({ mode: z.literal('multipart') }),
  ]),
  schema: z.object({ muxColumns: z.object({ present: z.boolean(), missing: z.array(z.string()) }), usedFallback: z.boolean() }),
});
export type CreatedUploadAnswer = z.infer<typeof createdUploadAnswer>;

export const videoAnswer = z.object({
  video: z.object({
    id: z.string(),
    status: z.string(),
    mux: z.object({ status: z.string(), playbackId: z.string().nullable(), error: z.unknown() }).nullable(),
  }),
});
export type VideoAnswer = z.infer<typeof videoAnswer>['video'];

export const videoListAnswer = z.object({
  videos: z.array(z.object({ id: z.string() })),
  nextCursor: z.string().nullable().optional(),
});

/** The answer's body when it has `status` and the shape; else a {@link CheckFailure} saying what came instead. */
export function expectAnswer<T>(answer: ApiAnswer, status: number, schema: z.ZodType<T>, what: string): T {
  if (answer.status !== status) throw new CheckFailure(`${what} answered ${describeAnswer(answer)}`);
  const parsed = schema.safeParse(answer.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CheckFailure(`${what} answered ${answer.status} with an unexpected body (${issue?.path.join('.') || 'body'}: ${issue?.message}): ${answer.text.slice(0, 200)}`);
  }
  return parsed.data;
}
