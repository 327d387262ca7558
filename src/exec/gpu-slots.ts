import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit, SlotReleaseContext } from '@temporalio/worker';

/** Thrown to executions waiting for GPUs when the worker shuts down: the work goes back to the queue. */
export class WorkerDraining extends Error {
  constructor() {
    super('the GPU worker is shutting down');
  }
}

/**
 * The GPUs one worker owns. An execution takes a disjoint set of device ids for its lifetime and gives
 * it back however it ends; callers wait (FIFO) while not enough are free, so the host is never
 * over-subscribed. A CPU-only worker has no devices and runs only tasks that need none, `cpuSlots` at once.
 */
export class GpuSlots {
  private free: string[];
  private waiters: { n: number; resolve: (ids: string[]) => void; reject: (err: unknown) => void }[] = [];
  private listeners = new Set<() => void>();
  /** Executions between acquire and release (waiting or holding), GPU-less ones included. */
  private holders = 0;
  private cpuHolders = 0;
  private draining = false;
  /** GPUs the most recent execution asked for: the best guess for the next one. */
  private lastNeed: number;

  constructor(
    readonly devices: string[],
    readonly cpuSlots = 1,
  ) {
    this.free = [...devices];
    this.lastNeed = devices.length ? 1 : 0;
  }

  /** Executions that can run at once for a task needing `n` GPUs each. */
  capacityFor(n: number): number {
    return n === 0 ? Infinity : Math.floor(this.devices.length / n);
  }

  /** Waits for `n` free GPUs (first come, first served). Aborting the signal, or a shutdown, gives up the wait. */
  async acquire(n: number, signal?: AbortSignal): Promise<string[]> {
    if (n > this.devices.length) {
      throw new Error(
        `this GPU worker has ${this.devices.length} GPU(s) (${this.devices.join(',') || 'none'}); the task needs ${n}`,
      );
    }
    if (this.draining) throw new WorkerDraining();
    signal?.throwIfAborted();
    this.lastNeed = n;
    this.holders++;
    if (n === 0) {
      this.cpuHolders++;
      this.changed();
      return [];
    }
    if (this.waiters.length === 0 && this.free.length >= n) {
      const ids = this.free.splice(0, n);
      this.changed();
      return ids;
    }
    return new Promise<string[]>((resolve, reject) => {
      const waiter = {
        n,
        resolve: (ids: string[]) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(ids);
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          this.holders--;
          reject(err);
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.reject(signal!.reason);
        this.grant(); // the next waiter may fit now
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.changed();
    });
  }

  /** Gives back what `acquire` handed out (an empty set for an execution that needed no GPU). */
  release(ids: string[]) {
    this.holders = Math.max(0, this.holders - 1);
    if (ids.length === 0) this.cpuHolders = Math.max(0, this.cpuHolders - 1);
    this.free.push(...ids);
    this.free.sort((a, b) => this.devices.indexOf(a) - this.devices.indexOf(b));
    this.grant();
  }

  private grant() {
    while (this.waiters.length && this.free.length >= this.waiters[0].n) {
      const w = this.waiters.shift()!;
      w.resolve(this.free.splice(0, w.n));
    }
    this.changed();
  }

  /** Shutdown: nothing new is handed out, and executions still waiting are turned away (to run elsewhere). */
  drain() {
    this.draining = true;
    for (const w of this.waiters.splice(0)) w.reject(new WorkerDraining());
    this.changed();
  }

  /** Executions that hold, or wait for, devices right now. */
  get inUse() {
    return { holders: this.holders, waiting: this.waiters.length, freeGpus: this.free.length, draining: this.draining };
  }

  /**
   * Whether a new execution is likely to start at once: nobody waits, and there is room for as many
   * GPUs as the last execution asked for (or a CPU slot, for tasks that need no GPU).
   */
  roomForAnother(): boolean {
    if (this.draining || this.waiters.length > 0) return false;
    return this.lastNeed === 0 ? this.cpuHolders < this.cpuSlots : this.free.length >= this.lastNeed;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed() {
    for (const l of [...this.listeners]) l();
  }
}

/**
 * Decides when the GPU worker asks the server for another execution (a Temporal activity slot
 * supplier). A fixed `maxConcurrentActivityTaskExecutions` cannot be right: the worker does not know
 * how many GPUs the next execution needs, so any fixed count either leaves GPUs idle or lets the
 * worker take executions that then sit waiting for GPUs while another host is idle. Instead it polls
 * for one execution at a time, and only when that one could start at once: no poll is outstanding,
 * every execution it took has claimed its GPUs, none is waiting, and as many GPUs are free as the
 * last execution needed. At worst one execution (one that needs more GPUs than the last) waits here.
 */
export class GpuAdmission implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom' as const;
  /** Permits handed to pollers that have not received a task yet. */
  private idle = 0;
  /** Permits whose task is running (from markSlotUsed to releaseSlot). */
  private used = 0;
  private wakeups = new Set<() => void>();

  constructor(private readonly slots: GpuSlots) {
    slots.onChange(() => this.wake());
  }

  /** Executions taken but not yet at `acquire` (checking the cache, the environment, …): they claim GPUs soon. */
  private get starting() {
    return Math.max(0, this.used - this.slots.inUse.holders);
  }

  private admissible() {
    return this.idle === 0 && this.starting === 0 && this.slots.roomForAnother();
  }

  async reserveSlot(_ctx: unknown, abortSignal: AbortSignal): Promise<SlotPermit> {
    while (!this.admissible()) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          this.wakeups.delete(done);
          abortSignal.removeEventListener('abort', aborted);
          resolve();
        };
        const aborted = () => {
          this.wakeups.delete(done);
          // The SDK aborts reservations when the worker shuts down; its own reason means "expected".
          reject(abortSignal.reason);
        };
        if (abortSignal.aborted) return aborted();
        abortSignal.addEventListener('abort', aborted, { once: true });
        this.wakeups.add(done);
      });
    }
    this.idle++;
    return {};
  }

  tryReserveSlot(): SlotPermit | null {
    if (!this.admissible()) return null;
    this.idle++;
    return {};
  }

  markSlotUsed() {
    this.idle = Math.max(0, this.idle - 1);
    this.used++;
    this.wake();
  }

  releaseSlot(ctx: SlotReleaseContext<ActivitySlotInfo>) {
    if (ctx.slotInfo) this.used = Math.max(0, this.used - 1);
    else this.idle = Math.max(0, this.idle - 1);
    this.wake();
  }

  private wake() {
    // Waiters re-check after the current change has fully landed.
    queueMicrotask(() => {
      for (const w of [...this.wakeups]) w();
    });
  }
}
