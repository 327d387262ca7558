// Scores across runs: top runs per configuration and record, pooled per group, with bootstrap intervals.
import { bootstrapCI, iqm, mean, median, type BootstrapOptions, type Estimate } from './statistics';

/** One agent run's score with the configuration it ran under. */
export interface ScoreRow {
  /** The task or human record the run started from. */
  record: string | number;
  fsr: number;
  model?: string;
  /** The search scaffold (the reference's `science_runner`). */
  scaffold?: string;
  hint_level?: string | number;
  /** Runs on tasks marked `excluded_from_scores` are left out. */
  excluded?: boolean;
  [key: string]: string | number | boolean | undefined;
}

export interface AggregateOptions extends BootstrapOptions {
  /** Keys that make one configuration; top runs are picked per configuration and record. */
  configKeys?: string[];
  /** Keys a reported group is made of (default: hint level, scaffold, model). */
  groupBy?: string[];
  /** Runs kept per configuration and record, best FSR first (default 3). */
  topK?: number;
  /** FSRs outside this range are set to 0 as broken measurements (default [0, 3]). */
  validRange?: [number, number];
  /** Resample within each record (default) or across all values at once. */
  stratified?: boolean;
}

export interface GroupScore {
  key: Record<string, string>;
  /** Number of FSR values pooled (top runs of every configuration and record). */
  n: number;
  records: string[];
  mean: Estimate;
  median: Estimate;
  iqm: Estimate;
  /** The pooled values per record, for inspection. */
  values: Record<string, number[]>;
}

const DEFAULT_KEYS = ['hint_level', 'scaffold', 'model'];

function keyOf(row: ScoreRow, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, row[k] === undefined ? '' : String(row[k])]));
}

/**
 * Scores across runs: for each configuration and record keep the top-K runs by FSR (values
 * outside `validRange`, and NaN, become 0 first, so a broken measurement cannot take a top
 * slot); then, per group, pool those values and report mean, median and IQM with
 * bootstrap intervals. Groups come out sorted by key, so output is deterministic.
 */
export function aggregateScores(rows: readonly ScoreRow[], opts: AggregateOptions = {}): GroupScore[] {
  const groupBy = opts.groupBy ?? DEFAULT_KEYS;
  const configKeys = [...new Set([...(opts.configKeys ?? DEFAULT_KEYS), ...groupBy])];
  const topK = opts.topK ?? 3;
  const [lo, hi] = opts.validRange ?? [0, 3];
  const clean = (f: number) => (Number.isFinite(f) && f >= lo && f <= hi ? f : 0);

  // configuration + record → FSRs
  const cells = new Map<string, { row: ScoreRow; fsrs: number[] }>();
  for (const row of rows) {
    if (row.excluded) continue;
    const id = JSON.stringify([keyOf(row, configKeys), String(row.record)]);
    const cell = cells.get(id) ?? { row, fsrs: [] };
    cell.fsrs.push(clean(row.fsr));
    cells.set(id, cell);
  }

  // group → record → kept values
  const groups = new Map<string, { key: Record<string, string>; byRecord: Map<string, number[]> }>();
  for (const { row, fsrs } of cells.values()) {
    const key = keyOf(row, groupBy);
    const id = JSON.stringify(key);
    const group = groups.get(id) ?? { key, byRecord: new Map<string, number[]>() };
    const kept = [...fsrs].sort((a, b) => b - a).slice(0, topK);
    const record = String(row.record);
    group.byRecord.set(record, [...(group.byRecord.get(record) ?? []), ...kept]);
    groups.set(id, group);
  }

  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, { key, byRecord }]) => {
      const records = [...byRecord.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      const strataAll = records.map((r) => byRecord.get(r)!);
      const strata = opts.stratified === false ? [strataAll.flat()] : strataAll;
      const boot = (stat: (v: number[]) => number) => bootstrapCI(strata, stat, opts);
      return {
        key,
        n: strataAll.reduce((s, v) => s + v.length, 0),
        records,
        mean: boot(mean),
        median: boot(median),
        iqm: boot(iqm),
        values: Object.fromEntries(records.map((r) => [r, byRecord.get(r)!])),
      };
    });
}
