// Scores across runs, as the benchmark's analysis notebooks compute them: per configuration and
// record the top-3 FSRs (out-of-range values zeroed, short cells padded), one row per record of a
// records × ranks matrix; FSR-bar and its SEM from the rank means; rliable's aggregates with
// stratified-bootstrap intervals.
import { std, stratifiedBootstrap, type BootstrapOptions, type Estimate } from './statistics';

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
  /**
   * Keys a reported group is made of (default: the configuration's). Fewer keys pool configurations
   * by stacking their rows, as the notebooks' per-hint / per-scaffold / per-model figures do.
   */
  groupBy?: string[];
  /** Ranks kept per configuration and record (default 3). */
  topK?: number;
  /** FSRs outside this range (and NaN) are set to 0 as broken measurements (default [0, 3]). */
  validRange?: [number, number];
}

export interface GroupScore {
  key: Record<string, string>;
  /** Values in the matrix: rows × topK. */
  n: number;
  /** Matrix rows: one per configuration and record (= the records, for a single configuration). */
  rows: number;
  /** Configurations pooled in the group. */
  configs: number;
  /** Runs behind the rows (before the top-K cut). */
  runs: number;
  /** Rows with fewer than topK runs, padded with their smallest kept value. */
  padded: number;
  records: string[];
  /** Mean over rows of each rank (best first). */
  rank_means: number[];
  /** Mean over ranks of the rank means: the paper's FSR-bar. */
  fsr_bar: number;
  /** Its error bar: std (ddof 0) of the rank means / sqrt(rows), as the notebooks compute it. */
  sem: number;
  mean: Estimate;
  median: Estimate;
  iqm: Estimate;
  optimality_gap: Estimate;
  /** Each record's top-K values (configurations pooled in key order), for inspection. */
  values: Record<string, number[]>;
}

/** One configuration's runs of one record. */
interface Cell {
  row: ScoreRow;
  config: string;
  record: string;
  fsrs: number[];
}

const DEFAULT_KEYS = ['hint_level', 'scaffold', 'model'];

const keyOf = (row: ScoreRow, keys: readonly string[]): Record<string, string> =>
  Object.fromEntries(keys.map((k) => [k, row[k] === undefined ? '' : String(row[k])]));

const byText = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * The top K of one configuration's runs of one record: values outside `range` become 0, the rest
 * sorted best first; fewer than K runs are padded with the smallest kept value (the notebooks'
 * `get_top_3_values`).
 */
export function topValues(fsrs: readonly number[], topK = 3, range: [number, number] = [0, 3]): number[] {
  if (fsrs.length === 0) return new Array(topK).fill(0);
  const kept = fsrs
    .map((f) => (f >= range[0] && f <= range[1] ? f : 0))
    .sort((a, b) => b - a)
    .slice(0, topK);
  while (kept.length < topK) kept.push(kept[kept.length - 1]);
  return kept;
}

/**
 * Scores across runs, per group (by default one group per configuration). Groups come out sorted
 * by key, rows by record, so output is deterministic for a seed.
 */
export function aggregateScores(rows: readonly ScoreRow[], opts: AggregateOptions = {}): GroupScore[] {
  const configKeys = opts.configKeys ?? DEFAULT_KEYS;
  const groupBy = opts.groupBy ?? configKeys;
  const allKeys = [...new Set([...configKeys, ...groupBy])];
  const topK = opts.topK ?? 3;

  // (configuration, record) → FSRs
  const cells = new Map<string, Cell>();
  for (const row of rows) {
    if (row.excluded) continue;
    const config = JSON.stringify(keyOf(row, allKeys));
    const record = String(row.record);
    const id = JSON.stringify([config, record]);
    const cell = cells.get(id) ?? { row, config, record, fsrs: [] };
    cell.fsrs.push(row.fsr);
    cells.set(id, cell);
  }

  const groups = new Map<string, { key: Record<string, string>; cells: Cell[] }>();
  for (const cell of cells.values()) {
    const key = keyOf(cell.row, groupBy);
    const id = JSON.stringify(key);
    const group = groups.get(id) ?? { key, cells: [] };
    group.cells.push(cell);
    groups.set(id, group);
  }

  return [...groups.entries()]
    .sort(([a], [b]) => byText(a, b))
    .map(([, { key, cells: groupCells }]) => {
      groupCells.sort((a, b) => byText(a.record, b.record) || byText(a.config, b.config));
      const matrix = groupCells.map((c) => topValues(c.fsrs, topK, opts.validRange));
      const columns = Array.from({ length: topK }, (_, j) => matrix.map((row) => row[j]));
      const rankMeans = columns.map((col) => col.reduce((s, v) => s + v, 0) / col.length);
      const est = stratifiedBootstrap(columns, opts);
      const values: Record<string, number[]> = {};
      groupCells.forEach((c, i) => (values[c.record] = [...(values[c.record] ?? []), ...matrix[i]]));
      return {
        key,
        n: matrix.length * topK,
        rows: matrix.length,
        configs: new Set(groupCells.map((c) => c.config)).size,
        runs: groupCells.reduce((s, c) => s + c.fsrs.length, 0),
        padded: groupCells.filter((c) => c.fsrs.length < topK).length,
        records: [...new Set(groupCells.map((c) => c.record))],
        rank_means: rankMeans,
        fsr_bar: rankMeans.reduce((s, v) => s + v, 0) / topK,
        sem: std(rankMeans) / Math.sqrt(matrix.length),
        mean: est.mean,
        median: est.median,
        iqm: est.iqm,
        optimality_gap: est.optimality_gap,
        values,
      };
    });
}
