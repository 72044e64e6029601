/**
 * The rules for a video's own text, the same wherever it is written: at creation (POST /api/videos/upload) and in an
 * edit (PATCH /api/videos/{id}). Factories, so each schema that uses them wraps them in its own `z.optional()`.
 */
import * as z from '../zod.js';
import { text } from '../http/text.js';

export const titleMaxLength = 200;
export const descriptionMaxLength = 5000;

/** Trimmed, 1–200 characters after trimming, storable text (shared/http/text.ts). */
export function videoTitle(): z.ZodMiniString<string> {
  return text().check(z.trim(), z.minLength(1), z.maxLength(titleMaxLength));
}

/** Up to 5000 characters of storable text, or null for none. */
export function videoDescription(): z.ZodMiniNullable<z.ZodMiniString<string>> {
  return z.nullable(text().check(z.maxLength(descriptionMaxLength)));
}
