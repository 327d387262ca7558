/**
 * The GPUs one worker owns. An execution takes a disjoint set of device ids for its lifetime and gives
 * it back however it ends; callers wait (FIFO) while not enough are free, so the host is never
 * over-subscribed. A CPU-only worker has no devices and runs only tasks that need none.
 */
export class GpuSlots {
  private free: string[];
  private waiters: { n: number; resolve: (ids: string[]) => void }[] = [];

  constructor(readonly devices: string[]) {
    this.free = [...devices];
  }

  /** Executions that can run at once for a task needing `n` GPUs each. */
  capacityFor(n: number): number {
    return n === 0 ? Infinity : Math.floor(this.devices.length / n);
  }

  async acquire(n: number): Promise<string[]> {
    if (n > this.devices.length) {
      throw new Error(`this GPU worker has ${this.devices.length} GPU(s) (${this.devices.join(',') || 'none'}); the task needs ${n}`);
    }
    if (n === 0) return [];
    if (this.waiters.length === 0 && this.free.length >= n) return this.free.splice(0, n);
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  release(ids: string[]) {
    this.free.push(...ids);
    this.free.sort((a, b) => this.devices.indexOf(a) - this.devices.indexOf(b));
    while (this.waiters.length && this.free.length >= this.waiters[0].n) {
      const w = this.waiters.shift()!;
      w.resolve(this.free.splice(0, w.n));
    }
  }
}
