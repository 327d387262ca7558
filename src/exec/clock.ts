/**
 * The harness's own clock of an execution's output: when (ms since spawn, `performance.now()` on the
 * GPU worker) the training-step and validation lines the task's parser recognises arrived. Integrity
 * rules compare it with the time the script reports; a script can print any `train_time`, but not
 * change when its lines reached us. Kept small, since it travels in workflow history.
 */
export interface ExecutionClock {
  /** Training-step lines: [step, arrival ms]; first 50, last 50 and an evenly sampled middle. */
  steps: Array<[step: number, atMs: number]>;
  /** Validation lines, sampled the same way. */
  vals: Array<[step: number, atMs: number]>;
  /** Every output line the execution wrote (after cutting over-long ones), recognised or not. */
  lines: number;
  /** Arrival of the first and of the last output line of any kind. */
  firstOutputMs?: number;
  lastOutputMs?: number;
}

export type ClockEntry = [step: number, atMs: number];

/** What the task's parser says a line is, for the clock. */
export type LineKind = { kind: 'step' | 'val'; step: number } | undefined;

export const CLOCK_EDGE = 50;
/** The sampled middle holds between MIDDLE_MAX/2 and MIDDLE_MAX entries once it has that many. */
export const CLOCK_MIDDLE_MAX = 200;

/**
 * A bounded sample of a stream of entries: the first `edge`, the last `edge`, and an evenly spaced
 * sample of those in between. Memory and result are bounded however many entries come (a flood of
 * step lines keeps at most edge*2 + middleMax); with at most edge*2 + middleMax entries all are kept.
 */
export class SampledSeries {
  private readonly first: ClockEntry[] = [];
  private readonly last: ClockEntry[] = [];
  private middle: ClockEntry[] = [];
  /** Index, among entries that left `last`, of the next one; kept when a multiple of `stride`. */
  private middleIndex = 0;
  private stride = 1;

  constructor(
    private readonly edge = CLOCK_EDGE,
    private readonly middleMax = CLOCK_MIDDLE_MAX,
  ) {}

  add(entry: ClockEntry) {
    if (this.first.length < this.edge) return void this.first.push(entry);
    this.last.push(entry);
    if (this.last.length <= this.edge) return;
    const leaving = this.last.shift()!;
    if (this.middleIndex++ % this.stride !== 0) return;
    this.middle.push(leaving);
    if (this.middle.length > this.middleMax) {
      // Every other kept entry goes: the sample stays evenly spaced, at twice the stride.
      this.middle = this.middle.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
  }

  entries(): ClockEntry[] {
    return [...this.first, ...this.middle, ...this.last];
  }
}

/** Builds an execution's clock line by line, as the lines arrive. */
export class ClockRecorder {
  private readonly steps = new SampledSeries();
  private readonly vals = new SampledSeries();
  private lines = 0;
  private firstMs?: number;
  private lastMs?: number;

  constructor(private readonly classify: (line: string) => LineKind) {}

  line(text: string, atMs: number) {
    const at = Math.round(atMs);
    this.lines++;
    this.firstMs ??= at;
    this.lastMs = at;
    const kind = this.classify(text);
    if (kind) (kind.kind === 'step' ? this.steps : this.vals).add([kind.step, at]);
  }

  clock(): ExecutionClock {
    return {
      steps: this.steps.entries(),
      vals: this.vals.entries(),
      lines: this.lines,
      ...(this.firstMs !== undefined ? { firstOutputMs: this.firstMs, lastOutputMs: this.lastMs } : {}),
    };
  }
}
