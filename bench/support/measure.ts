/** Small statistics and scheduling helpers shared by the benchmarks. */
import { performance } from 'node:perf_hooks';

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile (q in 0..1) of unsorted values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return low + (high - low) * (position - lower);
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : value >= 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(2)} ms`;
}

export function ratioOf(value: number, baseline: number): number | null {
  return baseline > 0 && Number.isFinite(value) ? round(value / baseline, 4) : null;
}

export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/**
 * Runs every variant `rounds` times, interleaved so that drifting machine load lands on all of them alike: the order
 * rotates each round (A B C, B C A, C A B, …), so no variant always goes first or last.
 */
export async function interleaved<K extends string, T>(
  variants: readonly K[],
  rounds: number,
  run: (variant: K, round: number) => Promise<T>,
): Promise<Record<K, T[]>> {
  const samples = Object.fromEntries(variants.map((variant) => [variant, [] as T[]])) as Record<K, T[]>;
  for (let round = 0; round < rounds; round += 1) {
    for (let index = 0; index < variants.length; index += 1) {
      const variant = variants[(index + round) % variants.length] as K;
      samples[variant].push(await run(variant, round));
    }
  }
  return samples;
}

export const sleep = (milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds));
