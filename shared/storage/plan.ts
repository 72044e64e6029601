/**
 * How an upload is laid out in S3: one PUT or multipart, the part size and count, and which part numbers are valid.
 * Pure arithmetic over S3's limits; no S3 call.
 */
import { PayloadTooLargeError, ValidationError, type ValidationIssue } from '../errors.js';
import { MiB, S3Limits } from './config.js';

/**
 * Part size for files that fit in 10,000 parts of it (up to ~78 GiB); larger files get larger parts. 8 MiB is the
 * AWS CLI's default: few enough requests, and a failed part costs little to resend.
 */
export const preferredPartBytes = 8 * MiB;

export type UploadPlan =
  | { readonly mode: 'single'; readonly size: number }
  | { readonly mode: 'multipart'; readonly size: number; readonly partSize: number; readonly partCount: number };

export type MultipartPlan = Extract<UploadPlan, { mode: 'multipart' }>;

function assertObjectSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new ValidationError('size must be a whole number of bytes, at least 1', [{ path: ['size'], message: 'must be a positive integer' }]);
  }
  if (size > S3Limits.maxObjectBytes) {
    throw new PayloadTooLargeError(`size ${size} bytes is over S3's ${S3Limits.maxObjectBytes}-byte object limit`);
  }
}

/** The multipart layout for `size` bytes: whole-MiB parts of at least 8 MiB, never more than 10,000 of them. */
export function planMultipart(size: number): MultipartPlan {
  assertObjectSize(size);
  const smallestFitting = Math.ceil(Math.ceil(size / S3Limits.maxParts) / MiB) * MiB;
  const partSize = Math.max(preferredPartBytes, smallestFitting);
  return { mode: 'multipart', size, partSize, partCount: Math.ceil(size / partSize) };
}

/**
 * One PUT up to `threshold` bytes (and never past S3's 5 GiB single-PUT limit), multipart above it.
 */
export function planUpload(input: { readonly size: number; readonly threshold: number }): UploadPlan {
  assertObjectSize(input.size);
  const singleLimit = Math.min(input.threshold, S3Limits.singlePutMaxBytes);
  return input.size <= singleLimit ? { mode: 'single', size: input.size } : planMultipart(input.size);
}

/** Bytes in part `partNumber` (1-based): `partSize` except for a shorter last part. */
export function partLength(plan: Pick<MultipartPlan, 'size' | 'partSize'>, partNumber: number): number {
  return Math.min(plan.partSize, plan.size - (partNumber - 1) * plan.partSize);
}

/** Problems with `partNumbers` for an upload of `partCount` parts: missing, out of range, or listed twice. */
export function partNumberIssues(partNumbers: readonly number[], partCount: number, path: readonly string[]): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if (partNumbers.length === 0) problems.push(issueAt(path, 'at least one part number is required'));
  const seen = new Set<number>();
  partNumbers.forEach((partNumber, index) => {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > partCount) {
      problems.push(issueAt([...path, index], `part number must be an integer from 1 to ${partCount}`));
    } else if (seen.has(partNumber)) {
      problems.push(issueAt([...path, index], `part number ${partNumber} is listed twice`));
    }
    seen.add(partNumber);
  });
  return problems;
}

export function issueAt(path: ReadonlyArray<string | number>, message: string): ValidationIssue {
  return { path, message };
}
