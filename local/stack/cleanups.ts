/**
 * What the stack must undo, in reverse order of start: each service adds its own stop as it comes up, so a start
 * that fails half-way stops what did start.
 */
import type { Logger } from '../../shared/log.js';

export class Cleanups {
  readonly #steps: Array<() => Promise<void> | void> = [];

  constructor(private readonly logger: Logger) {}

  add(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  /** Runs every step added so far, newest first; a failing step is logged and the rest still run. */
  async runAll(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        this.logger.warn('local_stack.stop_step_failed', { error });
      }
    }
  }
}
