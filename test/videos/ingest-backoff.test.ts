import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryAfterFromHeaders } from '../../shared/mux/retry-after.js';
import { MuxThrottleGate, retryDelaySeconds } from '../../shared/videos/ingest-backoff.js';

const aws = { visibilityTimeoutSeconds: 720, maxReceiveCount: 5 };
const noJitter = () => 0;
const fullJitter = () => 0.999_999;

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  it('reads delay-seconds and HTTP-dates (IMF-fixdate, RFC 850, asctime)', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 03 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 03-Dec-26 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Thu Dec  3 12:00:05 2026', now)).toBe(5_000);
  });
  it('reads a date in the past as now, and anything else as no advice', () => {
    expect(parseRetryAfter('Thu, 03 Dec 2026 11:00:00 GMT', now)).toBe(0);
    for (const value of ['-5', '1.5', '', 'soon', '1e3', null, undefined]) expect(parseRetryAfter(value, now), String(value)).toBeUndefined();
  });
  it('finds the header in fetch Headers and in plain records', () => {
    expect(retryAfterFromHeaders(new Headers({ 'Retry-After': '3' }), now)).toBe(3000);
    expect(retryAfterFromHeaders({ 'retry-after': '4' }, now)).toBe(4000);
    expect(retryAfterFromHeaders(undefined, now)).toBeUndefined();
  });
});

describe('retryDelaySeconds', () => {
  it('honours a Retry-After longer than the floor, and never comes back before it', () => {
    expect(retryDelaySeconds(aws, { receiveCount: 1, retryAfterMs: 60_000, random: noJitter })).toBe(60);
    expect(retryDelaySeconds(aws, { receiveCount: 1, retryAfterMs: 60_000, random: fullJitter })).toBe(72);
  });
  it('grows the floor with the receive count so five receives span about two visibility timeouts', () => {
    const floors = [1, 2, 3, 4, 5].map((receiveCount) => retryDelaySeconds(aws, { receiveCount, retryAfterMs: 1000, random: noJitter }));
    expect(floors).toEqual([45, 90, 180, 360, 720]);
    // The four waits before the fifth receive: at least ~675 s, however short Mux's Retry-After.
    expect(floors.slice(0, 4).reduce((sum, delay) => sum + delay, 0)).toBeGreaterThanOrEqual(675);
  });
  it('never exceeds the queue visibility timeout, nor SQS’s 12 h', () => {
    expect(retryDelaySeconds(aws, { receiveCount: 1, retryAfterMs: 3_600_000, random: fullJitter })).toBe(720);
    expect(retryDelaySeconds({ visibilityTimeoutSeconds: 90_000, maxReceiveCount: 1 }, { receiveCount: 1, random: fullJitter })).toBe(43_200);
  });
  it('backs off with equal jitter when Mux gave no Retry-After', () => {
    expect(retryDelaySeconds(aws, { receiveCount: 2, random: noJitter })).toBe(45);
    expect(retryDelaySeconds(aws, { receiveCount: 2, random: fullJitter })).toBe(90);
  });
  it('scales with the queue: the local stack’s 12 s visibility and 5 receives', () => {
    expect([1, 2, 3, 4].map((receiveCount) => retryDelaySeconds({ visibilityTimeoutSeconds: 12, maxReceiveCount: 5 }, { receiveCount, retryAfterMs: 0, random: noJitter }))).toEqual([1, 2, 3, 6]);
  });
});

describe('MuxThrottleGate', () => {
  it('is closed until the latest Retry-After ends', () => {
    let now = 1000;
    const gate = new MuxThrottleGate(() => now);
    expect(gate.waitMs()).toBe(0);
    gate.throttled(5000);
    gate.throttled(2000);
    now += 1000;
    expect(gate.waitMs()).toBe(4000);
    now += 4000;
    expect(gate.waitMs()).toBe(0);
  });
});
