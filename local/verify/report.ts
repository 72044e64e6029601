/**
 * Runs `npm run verify`'s checks one at a time and prints one line for each as it finishes:
 *   ✓ name              12 ms  detail
 *   ✗ name             310 ms  why it failed
 *   - name                     skipped: why
 * then a summary line.
 */

export type CheckOutcome = 'passed' | 'failed' | 'skipped';

export interface CheckResult {
  readonly name: string;
  readonly outcome: CheckOutcome;
  readonly durationMs: number;
  readonly detail: string;
}

/** Thrown by a check to fail with a message of its own (anything else thrown fails it with the error's message). */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
}

/** Thrown by a check that found it cannot apply to this deployment: the line says skipped, with the reason. */
export class CheckSkipped extends Error {
  override readonly name = 'CheckSkipped';
}

/** A check's answer: what to print, and the value later checks build on. */
export interface Passed<T> {
  readonly detail: string;
  readonly value: T;
}

const marks: Record<CheckOutcome, string> = { passed: '✓', failed: '✗', skipped: '-' };
const nameWidth = 26;

export function formatResult(result: CheckResult): string {
  const duration = result.outcome === 'skipped' ? '' : `${Math.round(result.durationMs)} ms`;
  return `${marks[result.outcome]} ${result.name.padEnd(nameWidth)} ${duration.padStart(8)}  ${result.detail}`;
}

export class Report {
  readonly results: CheckResult[] = [];
  readonly #write: (line: string) => void;
  readonly #started = performance.now();

  constructor(write: (line: string) => void) {
    this.#write = write;
  }

  #record(result: CheckResult): void {
    this.results.push(result);
    this.#write(formatResult(result));
  }

  /** Runs one check; resolves to its value, or undefined when it failed (the line says why). */
  async check<T>(name: string, run: () => Promise<Passed<T>>): Promise<T | undefined> {
    const started = performance.now();
    try {
      const { detail, value } = await run();
      this.#record({ name, outcome: 'passed', durationMs: performance.now() - started, detail });
      return value;
    } catch (error) {
      if (error instanceof CheckSkipped) {
        this.skip(name, error.message);
        return undefined;
      }
      this.fail(name, error instanceof Error ? error.message : String(error), performance.now() - started);
      return undefined;
    }
  }

  fail(name: string, detail: string, durationMs = 0): void {
    this.#record({ name, outcome: 'failed', durationMs, detail });
  }

  skip(name: string, reason: string): void {
    this.#record({ name, outcome: 'skipped', durationMs: 0, detail: `skipped: ${reason}` });
  }

  get failed(): boolean {
    return this.results.some((result) => result.outcome === 'failed');
  }

  summary(api: string): string {
    const count = (outcome: CheckOutcome) => this.results.filter((result) => result.outcome === outcome).length;
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    const verdict = this.failed ? 'FAILED' : 'OK';
    return `verify ${verdict}: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped in ${seconds} s against ${api}`;
  }
}
