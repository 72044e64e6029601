/**
 * The rules for a video's own text, the same wherever it is written: at creation (POST /api/videos/upload) and in an
 * edit (PATCH /api/videos/{id}). Factories, so each schema that uses them adds its own `.optional()`.
 */
import type * as z from 'zod';
import { text } from '../http/text.js';

export const titleMaxLength = 200;
export const descriptionMaxLength = 5000;

/** Trimmed, 1–200 characters after trimming, storable text (shared/http/text.ts). */
export function videoTitle(): z.ZodString {
  return text().trim().min(1).max(titleMaxLength);
}

/** Up to 5000 characters of storable text, or null for none. */
export function videoDescription(): z.ZodNullable<z.ZodString> {
  return text().max(descriptionMaxLength).nullable();
}
