// Versions being written or executed at once. A failure that survived its retries fails the run, as
// it would have one step at a time; the others still finish first.
import { condition } from '@temporalio/workflow';

export class InFlightPool {
  private readonly tracked = new Set<Promise<void>>();
  private failed = false;
  private failure: unknown;

  get size(): number {
    return this.tracked.size;
  }

  launch(work: Promise<void>): void {
    const tracked = work
      .catch((err) => {
        if (this.failed) return;
        this.failed = true;
        this.failure = err;
      })
      .finally(() => this.tracked.delete(tracked));
    this.tracked.add(tracked);
  }

  /** Waits until `until()` holds; on a failure, waits for the rest and throws it. */
  async settle(until: () => boolean): Promise<void> {
    await condition(() => until() || this.failed);
    if (this.failed) {
      await condition(() => this.tracked.size === 0);
      throw this.failure;
    }
  }

  drain(): Promise<void> {
    return this.settle(() => this.tracked.size === 0);
  }
}
