// Plausibility flags: checks that mark versions whose numbers should not be taken at face value.
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
  if (!Number.isFinite(reportedMs) || reportedMs < 0)
    return `reported train_time ${reportedMs} is not a valid duration`;
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

export interface ChangedLine {
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
  {
    why: 'touches timing code',
    pattern: /\btrain_time\b|\btraining_time(_ms)?\b|\btime\.time\(|perf_counter|\bsynchronize\(/,
  },
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
export function changedLinesFromTexts({ path, before, after }: FileChange): ChangedLine[] {
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
