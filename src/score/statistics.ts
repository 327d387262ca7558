// Statistics for scores across runs: mean, median, IQM and seeded bootstrap intervals.
import { randomStream } from '../../core/random';

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Linear-interpolated quantile of sorted values (numpy's default method). */
export function quantileSorted(sorted: readonly number[], q: number): number {
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

export interface Estimate {
  value: number;
  /** Bootstrap percentile interval (95% by default). */
  lo: number;
  hi: number;
}

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
  /** Interval mass, default 0.95. */
  confidence?: number;
}

/**
 * Percentile-bootstrap interval of `stat` over strata: each resample redraws, with replacement,
 * every stratum from itself (one stratum per task, as rliable does), so every task keeps its
 * weight. Pass a single stratum for a plain bootstrap.
 */
export function bootstrapCI(
  strata: readonly (readonly number[])[],
  stat: (values: number[]) => number,
  opts: BootstrapOptions = {},
): Estimate {
  const resamples = opts.resamples ?? 2000;
  const alpha = (1 - (opts.confidence ?? 0.95)) / 2;
  const rand = randomStream(opts.seed ?? 0);
  const all = strata.flat();
  const value = stat(all);
  if (all.length === 0) return { value, lo: NaN, hi: NaN };
  const stats: number[] = new Array(resamples);
  const sample: number[] = new Array(all.length);
  for (let r = 0; r < resamples; r++) {
    let k = 0;
    for (const s of strata) for (let i = 0; i < s.length; i++) sample[k++] = s[Math.floor(rand() * s.length)];
    stats[r] = stat(sample);
  }
  stats.sort(ascending);
  return { value, lo: quantileSorted(stats, alpha), hi: quantileSorted(stats, 1 - alpha) };
}
