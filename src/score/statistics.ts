// Statistics for scores across runs: mean, median, IQM, and rliable's aggregates of a score matrix
// with stratified-bootstrap intervals (Agarwal et al. 2021, as the benchmark's analysis uses them).
import { randomStream } from '../../core/random';

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Linear-interpolated quantile of sorted values (numpy's default method). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export const ascending = (a: number, b: number) => a - b;

export function median(values: readonly number[]): number {
  return quantileSorted([...values].sort(ascending), 0.5);
}

/**
 * Interquartile mean, scipy-style (`trim_mean(x, 0.25)`): drop floor(0.25 n) values from each
 * end of the sorted sample and average the rest.
 */
export function iqm(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort(ascending);
  const cut = Math.floor(0.25 * sorted.length);
  return mean(sorted.slice(cut, sorted.length - cut));
}

/** Population standard deviation (numpy's default, ddof = 0). */
export function std(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(mean(values.map((v) => (v - m) ** 2)));
}

export interface Estimate {
  value: number;
  /** Bootstrap percentile interval (95% by default). */
  lo: number;
  hi: number;
}

export interface BootstrapOptions {
  /** Bootstrap replications (default 50,000, as the benchmark's analysis). */
  resamples?: number;
  seed?: number;
  /** Interval mass, default 0.95. */
  confidence?: number;
}

/**
 * A score matrix as rliable takes it: `rows` samples (here: records) of `cols` tasks (here: the
 * three FSR ranks), `columns[c][r]`. Every column has the same length.
 */
export type ScoreColumns = readonly (readonly number[])[];

/** rliable's four aggregates, in its order. */
export interface Aggregates {
  /** Median over columns of the column means (`aggregate_median`). */
  median: number;
  /** 25% trimmed mean of all values (`aggregate_iqm`). */
  iqm: number;
  /** Mean of the column means (`aggregate_mean`). */
  mean: number;
  /** 1 - mean(min(x, 1)) over all values (`aggregate_optimality_gap`, gamma = 1). */
  optimality_gap: number;
}
export const AGGREGATE_NAMES = ['median', 'iqm', 'mean', 'optimality_gap'] as const;

/**
 * The aggregates of one matrix and of its stratified resamples. Values are ranked once: a resample
 * is a count per original value, so the IQM of a resample is a walk over the ranked values (O(n))
 * rather than a sort, which keeps 50,000 resamples of thousands of matrices quick.
 */
class RankedMatrix {
  readonly rows: number;
  readonly cols: number;
  /** Value of each original cell, column-major (`c * rows + r`). */
  readonly values: Float64Array;
  /** Rank of each cell in the sorted order of all cells (ties broken by position). */
  readonly rankOf: Int32Array;
  /** Values in rank order. */
  readonly sorted: Float64Array;
  private readonly counts: Int32Array;
  private readonly colSums: Float64Array;
  private readonly colMeans: Float64Array;

  constructor(columns: ScoreColumns) {
    this.cols = columns.length;
    this.rows = columns[0]?.length ?? 0;
    if (columns.some((c) => c.length !== this.rows)) throw new Error('score matrix columns differ in length');
    const n = this.rows * this.cols;
    this.values = new Float64Array(n);
    columns.forEach((col, c) => col.forEach((v, r) => (this.values[c * this.rows + r] = v)));
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => this.values[a] - this.values[b] || a - b);
    this.rankOf = new Int32Array(n);
    this.sorted = new Float64Array(n);
    order.forEach((cell, rank) => {
      this.rankOf[cell] = rank;
      this.sorted[rank] = this.values[cell];
    });
    this.counts = new Int32Array(n);
    this.colSums = new Float64Array(this.cols);
    this.colMeans = new Float64Array(this.cols);
  }

  /** Aggregates of the matrix itself, in AGGREGATE_NAMES order. */
  point(): Aggregates {
    this.counts.fill(1);
    for (let c = 0; c < this.cols; c++) {
      let s = 0;
      for (let r = 0; r < this.rows; r++) s += this.values[c * this.rows + r];
      this.colSums[c] = s;
    }
    const out = new Float64Array(4);
    this.aggregates(out, 0);
    return { median: out[0], iqm: out[1], mean: out[2], optimality_gap: out[3] };
  }

  /** Aggregates of one stratified resample into `out[at..at+3]`: every column redraws its rows, with replacement, independently. */
  resample(rand: () => number, out: Float64Array, at: number) {
    const { rows, cols, values, rankOf, counts, colSums } = this;
    counts.fill(0);
    for (let c = 0; c < cols; c++) {
      let s = 0;
      const base = c * rows;
      for (let i = 0; i < rows; i++) {
        const cell = base + Math.floor(rand() * rows);
        s += values[cell];
        counts[rankOf[cell]]++;
      }
      colSums[c] = s;
    }
    this.aggregates(out, at);
  }

  /** median, IQM, mean, optimality gap of the current counts and column sums (no allocation: it runs per resample). */
  private aggregates(out: Float64Array, at: number) {
    const { rows, cols, sorted, counts, colSums, colMeans } = this;
    const n = rows * cols;
    let meanSum = 0;
    for (let c = 0; c < cols; c++) {
      // insertion into the sorted column means
      const v = colSums[c] / rows;
      meanSum += v;
      let j = c;
      while (j > 0 && colMeans[j - 1] > v) {
        colMeans[j] = colMeans[j - 1];
        j--;
      }
      colMeans[j] = v;
    }
    // IQM: ranks [cut, n - cut) of the resample, walked through the counts
    const cut = Math.floor(0.25 * n);
    const end = n - cut;
    let pos = 0;
    let trimmed = 0;
    let capped = 0;
    for (let k = 0; k < n; k++) {
      const m = counts[k];
      if (m === 0) continue;
      const v = sorted[k];
      capped += m * (v < 1 ? v : 1);
      const from = pos > cut ? pos : cut;
      const to = pos + m < end ? pos + m : end;
      if (to > from) trimmed += (to - from) * v;
      pos += m;
    }
    const mid = (cols - 1) / 2;
    out[at] = (colMeans[Math.floor(mid)] + colMeans[Math.ceil(mid)]) / 2;
    out[at + 1] = trimmed / (end - cut);
    out[at + 2] = meanSum / cols;
    out[at + 3] = 1 - capped / n;
  }
}

/**
 * rliable's `get_interval_estimates` for one score matrix with its four aggregates: point
 * estimates, and percentile intervals from a stratified bootstrap (each column resamples its own
 * rows; `task_bootstrap=False`). Seeded: the same matrix and seed give the same intervals.
 */
export function stratifiedBootstrap(
  columns: ScoreColumns,
  opts: BootstrapOptions = {},
): Record<keyof Aggregates, Estimate> {
  const m = new RankedMatrix(columns);
  const point = m.point();
  const resamples = opts.resamples ?? 50_000;
  if (m.rows === 0 || resamples <= 0) {
    return Object.fromEntries(AGGREGATE_NAMES.map((k) => [k, { value: point[k], lo: NaN, hi: NaN }])) as Record<
      keyof Aggregates,
      Estimate
    >;
  }
  const rand = randomStream(opts.seed ?? 0);
  const draws = new Float64Array(resamples * 4);
  for (let r = 0; r < resamples; r++) m.resample(rand, draws, r * 4);
  const alpha = (1 - (opts.confidence ?? 0.95)) / 2;
  const column = new Float64Array(resamples);
  const out = {} as Record<keyof Aggregates, Estimate>;
  AGGREGATE_NAMES.forEach((name, j) => {
    for (let r = 0; r < resamples; r++) column[r] = draws[r * 4 + j];
    out[name] = { value: point[name], lo: quantileInPlace(column, alpha), hi: quantileInPlace(column, 1 - alpha) };
  });
  return out;
}

/**
 * `quantileSorted` of the values without sorting them: selection (O(n)) reorders `a` in place so
 * that the element of rank k is at k, everything before it no larger and after it no smaller.
 */
export function quantileInPlace(a: Float64Array, q: number): number {
  const n = a.length;
  if (n === 0) return NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  select(a, lo);
  if (pos === lo) return a[lo];
  let next = Infinity;
  for (let i = lo + 1; i < n; i++) if (a[i] < next) next = a[i];
  return a[lo] + (next - a[lo]) * (pos - lo);
}

/** Hoare's selection with a median-of-three pivot. */
function select(a: Float64Array, k: number) {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    const mid = (left + right) >>> 1;
    // median of three as the pivot
    const x = a[left],
      y = a[mid],
      z = a[right];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}
