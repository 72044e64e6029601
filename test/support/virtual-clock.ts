/**
 * A clock for retry tests: `sleep` returns at once and moves `now` forward by what it was asked to wait, so a retry
 * budget runs out exactly as it would in real time, without waiting. `random` is fixed (1: every wait is its ceiling).
 */
import type { RetryClock } from '../../shared/retry.js';

export interface VirtualClock extends RetryClock {
  /** Every wait asked for, in order. */
  readonly slept: number[];
  /** Moves the clock forward without a sleep (time a call took). */
  advance(ms: number): void;
}

export function virtualClock(options: { start?: number; random?: () => number } = {}): VirtualClock {
  let now = options.start ?? 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    random: options.random ?? (() => 1),
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}
