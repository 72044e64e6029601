import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GiB, MiB, S3Limits, TiB } from '../../shared/storage/config.js';
import { PayloadTooLargeError, ValidationError } from '../../shared/errors.js';
import { partLength, planMultipart, planUpload, preferredPartBytes } from '../../shared/storage/uploads.js';

const threshold = 100 * MiB;

describe('planUpload', () => {
  it('uses one PUT up to and including the threshold, multipart one byte above it', () => {
    expect(planUpload({ size: 1, threshold })).toEqual({ mode: 'single', size: 1 });
    expect(planUpload({ size: threshold, threshold })).toEqual({ mode: 'single', size: threshold });
    expect(planUpload({ size: threshold + 1, threshold })).toEqual({ mode: 'multipart', size: threshold + 1, partSize: 8 * MiB, partCount: 13 });
  });

  it('never plans a single PUT past S3’s 5 GiB limit, whatever the threshold', () => {
    const huge = 10 * GiB;
    expect(planUpload({ size: 5 * GiB, threshold: huge }).mode).toBe('single');
    expect(planUpload({ size: 5 * GiB + 1, threshold: huge }).mode).toBe('multipart');
  });

  it('rejects empty, fractional and negative sizes, and objects past S3’s 5 TiB limit', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) expect(() => planUpload({ size, threshold })).toThrow(ValidationError);
    expect(() => planUpload({ size: 5 * TiB + 1, threshold })).toThrow(PayloadTooLargeError);
  });
});

describe('planMultipart', () => {
  it('keeps 8 MiB parts while 10,000 of them suffice', () => {
    expect(planMultipart(10_000 * preferredPartBytes)).toEqual({ mode: 'multipart', size: 10_000 * preferredPartBytes, partSize: 8 * MiB, partCount: 10_000 });
  });

  it('grows the part size (in whole MiB) one byte past 10,000 parts', () => {
    const size = 10_000 * preferredPartBytes + 1;
    expect(planMultipart(size)).toMatchObject({ partSize: 9 * MiB, partCount: Math.ceil(size / (9 * MiB)) });
  });

  it('fits the largest S3 object in at most 10,000 parts of at most 5 GiB', () => {
    const plan = planMultipart(5 * TiB);
    expect(plan.partSize).toBe(525 * MiB);
    expect(plan.partCount).toBe(9_987);
  });

  it('a tiny multipart upload is one short part', () => {
    expect(planMultipart(1)).toEqual({ mode: 'multipart', size: 1, partSize: 8 * MiB, partCount: 1 });
    expect(partLength(planMultipart(1), 1)).toBe(1);
  });

  it('for any size: parts within S3 limits, at most 10,000, and part lengths adding up to the size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: S3Limits.maxObjectBytes }), (size) => {
        const plan = planMultipart(size);
        expect(plan.partSize).toBeGreaterThanOrEqual(S3Limits.minPartBytes);
        expect(plan.partSize).toBeLessThanOrEqual(S3Limits.maxPartBytes);
        expect(plan.partSize % MiB).toBe(0);
        expect(plan.partCount).toBeLessThanOrEqual(S3Limits.maxParts);
        const last = partLength(plan, plan.partCount);
        expect(last).toBeGreaterThan(0);
        expect(last).toBeLessThanOrEqual(plan.partSize);
        expect((plan.partCount - 1) * plan.partSize + last).toBe(size);
      }),
      { numRuns: 2_000 },
    );
  });
});
