/**
 * Fraction of Speedup Recovered (FSR), as the Automated LLM Speedrunning Benchmark scores it,
 * and the checks that flag runs whose numbers should not be taken at face value.
 *
 * Task R starts from human record R (time t_R) and aims at record R+1 (time t_next):
 *   FSR = (t_R - t_agent) / (t_R - t_next)
 * where t_agent is the best train_time among the run's valid versions.
 */

// ───────────────────────────── per run ─────────────────────────────

export interface ValidityRule {
  /** The val_loss bound (default 3.28, the benchmark's in-run target). */
  target?: number;
  /** `true`: valid means val_loss < target (the paper's offline analysis uses `< 3.29`). */
  strict?: boolean;
}

/** The in-run rule: val_loss <= 3.28. */
export const IN_RUN_VALIDITY: Readonly<Required<ValidityRule>> = { target: 3.28, strict: false };
/** The looser rule of the benchmark's offline analysis: val_loss < 3.29. */
export const OFFLINE_VALIDITY: Readonly<Required<ValidityRule>> = { target: 3.29, strict: true };

export interface VersionMetrics {
  val_loss?: number;
  train_time?: number;
}

export interface FsrOptions extends ValidityRule {
  /**
   * Ignore train_times below this fraction of t_R as implausible (the benchmark's cumulative
   * experiments use 0.4). Off by default.
   */
  minPlausibleFraction?: number;
}

export interface FsrResult {
  fsr: number;
  /** The best time: t_R itself when no version beat it. */
  tAgentMs: number;
  /** Index into `versions` of the version that set t_agent; undefined when the root did. */
  bestIndex?: number;
  validCount: number;
}

/** A version is valid when its val_loss keeps the bound; NaN and missing losses never do. */
export function isValidLoss(valLoss: number | undefined, rule: ValidityRule = {}): boolean {
  const target = rule.target ?? IN_RUN_VALIDITY.target;
  if (valLoss === undefined || Number.isNaN(valLoss)) return false;
  return rule.strict ? valLoss < target : valLoss <= target;
}

/** FSR from the two human times and t_agent; a non-positive gap (t_R <= t_next) scores 0. */
export function fsrFromTimes(baselineMs: number, targetMs: number, agentMs: number): number {
  const gap = baselineMs - targetMs;
  if (!(gap > 0)) return 0;
  const fsr = (baselineMs - agentMs) / gap;
  return Number.isFinite(fsr) ? fsr : 0;
}

/**
 * FSR of one run. The root counts as a valid version timed at t_R (it is record R's own code
 * and time), so t_agent <= t_R and FSR >= 0. `versions` are the agent's other versions; a
 * version counts when its val_loss is valid and its train_time is a finite positive number.
 */
export function runFsr(
  run: { baselineMs: number; targetMs: number; versions: VersionMetrics[] },
  opts: FsrOptions = {},
): FsrResult {
  const floor = opts.minPlausibleFraction !== undefined ? opts.minPlausibleFraction * run.baselineMs : 0;
  let tAgentMs = run.baselineMs;
  let bestIndex: number | undefined;
  let validCount = 0;
  run.versions.forEach((v, i) => {
    const t = v.train_time;
    if (!isValidLoss(v.val_loss, opts) || t === undefined || !Number.isFinite(t) || t <= 0 || t < floor) return;
    validCount++;
    if (t < tAgentMs) {
      tAgentMs = t;
      bestIndex = i;
    }
  });
  const result: FsrResult = { fsr: fsrFromTimes(run.baselineMs, run.targetMs, tAgentMs), tAgentMs, validCount };
  if (bestIndex !== undefined) result.bestIndex = bestIndex;
  return result;
}

// ───────────────────────────── statistics ─────────────────────────────

/** mulberry32: a tiny seedable PRNG, so bootstrap intervals are the same on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Linear-interpolated quantile of sorted values (numpy's default method). */
function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const ascending = (a: number, b: number) => a - b;

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
  const rand = mulberry32(opts.seed ?? 0);
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

// ───────────────────────────── across runs ─────────────────────────────

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

// ───────────────────────────── plausibility flags ─────────────────────────────

export interface TimingCheckOptions {
  /** Reported time may exceed the harness's wall time by this much (clock granularity). Default 2000 ms. */
  slackMs?: number;
  /** Reported below this fraction of wall time is flagged (default 0.2). */
  minFraction?: number;
  /** Below this wall time, start-up dominates and the fraction rule is skipped (default 60 s). */
  minWallMsForFraction?: number;
}

/**
 * Flags a script-reported train_time that disagrees with the harness's own wall-clock
 * measurement of the same execution. The rule:
 *  - reported must be a finite number >= 0;
 *  - reported > wall + slack is impossible (the script cannot train longer than it ran);
 *  - reported < minFraction x wall (for runs of at least minWallMsForFraction) means the
 *    timer excludes most of the run: compilation and validation are legitimately excluded,
 *    but not 80% of it, so the timing code was probably changed.
 * Returns a reason, or undefined when the numbers are plausible. A flag, not a rejection.
 */
export function flagTimingDisagreement(
  reportedMs: number,
  harnessWallMs: number,
  opts: TimingCheckOptions = {},
): string | undefined {
  const slack = opts.slackMs ?? 2000;
  const minFraction = opts.minFraction ?? 0.2;
  const minWall = opts.minWallMsForFraction ?? 60_000;
  if (!Number.isFinite(reportedMs) || reportedMs < 0) return `reported train_time ${reportedMs} is not a valid duration`;
  if (!Number.isFinite(harnessWallMs) || harnessWallMs <= 0) return undefined;
  if (reportedMs > harnessWallMs + slack) {
    return `reported train_time ${Math.round(reportedMs)} ms exceeds the harness-measured wall time ${Math.round(harnessWallMs)} ms`;
  }
  if (harnessWallMs >= minWall && reportedMs < minFraction * harnessWallMs) {
    const pct = ((100 * reportedMs) / harnessWallMs).toFixed(1);
    return `reported train_time ${Math.round(reportedMs)} ms is only ${pct}% of the harness-measured wall time ${Math.round(harnessWallMs)} ms (flagged below ${minFraction * 100}%)`;
  }
  return undefined;
}

export interface FileChange {
  path: string;
  before: string;
  after: string;
}

interface ChangedLine {
  path: string;
  kind: 'added' | 'removed';
  /** 1-based: in the new file for added lines, in the old file for removed ones. */
  line: number;
  text: string;
}

/** What a changed line may touch, and why it matters. */
const SUSPICIOUS: { why: string; pattern: RegExp }[] = [
  { why: 'changes the validation token count', pattern: /\bval_tokens\b|NANOGPT_VAL_TOKENS/ },
  { why: 'touches the validation data', pattern: /\bval_loader\b|\bval_files\b|NANOGPT_VAL_FILES|\bval_bin\b/ },
  { why: 'touches the training data source', pattern: /\btrain_files\b|NANOGPT_TRAIN_FILES|\binput_bin\b/ },
  { why: 'touches the validation loss', pattern: /\bval_loss\b/ },
  { why: 'touches timing code', pattern: /\btrain_time\b|\btraining_time(_ms)?\b|\btime\.time\(|perf_counter|\bsynchronize\(/ },
  { why: 'changes the target 3.28', pattern: /(?<![\d.])3\.28(?!\d)/ },
];

/** Changed lines of a unified diff, numbered from its hunk headers; hunks end by their counts. */
function changedLinesFromDiff(diff: string): ChangedLine[] {
  const out: ChangedLine[] = [];
  let path = '';
  let oldLine = 0;
  let newLine = 0;
  let oldLeft = 0;
  let newLeft = 0;
  for (const raw of diff.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (oldLeft > 0 || newLeft > 0) {
      if (line.startsWith('\\')) continue; // "\ No newline at end of file"
      if (line.startsWith('+')) {
        out.push({ path, kind: 'added', line: newLine++, text: line.slice(1) });
        newLeft--;
      } else if (line.startsWith('-')) {
        out.push({ path, kind: 'removed', line: oldLine++, text: line.slice(1) });
        oldLeft--;
      } else {
        // context (some tools strip the lone space of an empty context line)
        oldLine++;
        newLine++;
        oldLeft--;
        newLeft--;
      }
      continue;
    }
    const hunk = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (hunk) {
      oldLine = Number(hunk[1]);
      oldLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      newLine = Number(hunk[3]);
      newLeft = hunk[4] === undefined ? 1 : Number(hunk[4]);
      continue;
    }
    const header = /^(?:\+\+\+|---) (?:[ab]\/)?([^\t]+)/.exec(line);
    if (header && header[1] !== '/dev/null') path = header[1].trim();
    else if (line.startsWith('diff --git ')) path = line.split(' b/').slice(-1)[0] ?? path;
  }
  return out;
}

/** Changed lines between two texts: common prefix/suffix trimmed, then an LCS on the middle. */
function changedLinesFromTexts({ path, before, after }: FileChange): ChangedLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const n = endA - start;
  const m = endB - start;
  // A huge rewrite is not worth an n×m table: every line of it counts as changed.
  if (n * m > 16_000_000) {
    return [
      ...a.slice(start, endA).map((text, k) => ({ path, kind: 'removed' as const, line: start + k + 1, text })),
      ...b.slice(start, endB).map((text, k) => ({ path, kind: 'added' as const, line: start + k + 1, text })),
    ];
  }
  // lcs[i][j] = LCS length of a[start+i..endA) and b[start+j..endB)
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        a[start + i] === b[start + j]
          ? lcs[(i + 1) * (m + 1) + j + 1] + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
    }
  }
  const out: ChangedLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i * (m + 1) + j + 1] >= lcs[(i + 1) * (m + 1) + j])) {
      out.push({ path, kind: 'added', line: start + j + 1, text: b[start + j] });
      j++;
    } else {
      out.push({ path, kind: 'removed', line: start + i + 1, text: a[start + i] });
      i++;
    }
  }
  return out;
}

/**
 * Reasons to look twice at a version: its changed (added or removed) lines touch timing or
 * validation code, the validation token count or data, or the 3.28 target. One reason per
 * changed line and concern, e.g. `train_gpt2.py:412 (added) touches timing code: t0 = time.perf_counter()`.
 * This flags for review; it does not reject (legitimate speedups can touch these lines).
 */
export function flagSuspiciousDiff(change: string | readonly FileChange[]): string[] {
  const lines = typeof change === 'string' ? changedLinesFromDiff(change) : change.flatMap(changedLinesFromTexts);
  const reasons: string[] = [];
  for (const l of lines) {
    for (const { why, pattern } of SUSPICIOUS) {
      if (!pattern.test(l.text)) continue;
      const snippet = l.text.trim().slice(0, 120);
      reasons.push(`${l.path || '(unknown file)'}:${l.line} (${l.kind}) ${why}: ${snippet}`);
    }
  }
  return reasons;
}
