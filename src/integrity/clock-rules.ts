// Harness-clocked progress: what a speedrun-format script reports as its train_time, checked against
// when its step and validation lines reached the harness (src/exec/clock.ts). A script can print any
// number; it cannot change when its lines arrived.
import type { ExecutionClock } from '../exec/clock';
import { parseSpeedrunLog } from '../speedrun/log-parse';
import { linesOf, type LogText } from '../metrics/log-lines';
import { violation, type IntegrityVerdict, type Violation } from './rules';

export interface ClockTolerance {
  /** Fixed slack (ms): pipe and scheduling latency of line delivery, the sync at validation. Default 250. */
  slackMs: number;
  /** Relative slack on the clocked span (timer resolution, step lines printed before the GPU caught up). Default 0.02: below the 3-run noise of the human records (std up to ~4%), above any honest source we can name (docs/integrity.md). */
  fraction: number;
  /** Steps' worth of slack: the records print step times without a CUDA sync, so they may lag the GPU by a step or two. Default 2. */
  steps: number;
}

export const DEFAULT_CLOCK_TOLERANCE: ClockTolerance = { slackMs: 250, fraction: 0.02, steps: 2 };

/** What the clock check measured, for reports and the audit. */
export interface ClockEvidence {
  /** Harness-clocked ms from the anchor step line to the final validation line. */
  observedMs: number;
  /** Of which validation passes (and other pauses of the step rhythm), excused because train_time leaves them out. */
  excusedMs: number;
  /** train_time the script reported over the same stretch (final minus the anchor line's). */
  reportedMs: number;
  toleranceMs: number;
  /** Median harness ms per training step. */
  stepMs: number;
  anchorStep: number;
}

/** A log as the rules read it, possibly more than once: a string, or something that yields its lines afresh (StoredLog). */
export type ReadableLog = string | { lines(): Iterable<string> };
export const logLines = (log: ReadableLog): LogText => (typeof log === 'string' ? log : log.lines());

const TRAIN_TIME = /(?:^|\s)train_time:([-+]?\d+(?:\.\d+)?)ms(?=\s|$)/;
const STEP_LINE = /^step:(\d+)\/(\d+)(?=\s|$)/;

/** The train_time each training-step line reports, by step (the last line of a step wins). */
function reportedByStep(log: LogText): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of linesOf(log)) {
    const m = STEP_LINE.exec(line);
    if (!m || /(?:^|\s)val_loss:/.test(line)) continue;
    const t = TRAIN_TIME.exec(line);
    if (t) out.set(Number(m[1]), Number(t[1]));
  }
  return out;
}

const median = (xs: number[]) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/**
 * Checks a speedrun log's reported train_time against the harness clock. The anchor is the first
 * clocked step line after the script's last timer reset (the records restart their timer at step 10,
 * after compilation): from there to the final validation line, the harness saw `observed` ms, of which
 * validation passes are excused (train_time leaves them out; each is the time from the step line before
 * a validation line to it, less the training steps in between at the median step rate). Then
 *  - reported < observed - excused - tolerance: `clock.reported-faster-than-observed`;
 *  - reported > observed + tolerance: the lines came faster than the time they claim: `clock.burst`;
 *  - reported > the execution's whole wall time + tolerance: `clock.exceeds-wall`.
 */
export function checkClock(
  log: ReadableLog,
  clock: ExecutionClock | undefined,
  wallMs: number | undefined,
  tol: ClockTolerance = DEFAULT_CLOCK_TOLERANCE,
): IntegrityVerdict & { evidence?: ClockEvidence } {
  const { validations } = parseSpeedrunLog(logLines(log));
  const final = validations[validations.length - 1];
  if (!final) return { warnings: [], violations: [] }; // val.missing speaks for a log without validation
  const violations: Violation[] = [];
  if (wallMs !== undefined && wallMs > 0 && final.trainTimeMs > wallMs + tol.slackMs) {
    violations.push(
      violation(
        'clock.exceeds-wall',
        `reported train_time ${Math.round(final.trainTimeMs)} ms, but the whole execution took ${Math.round(wallMs)} ms on the harness clock`,
      ),
    );
  }
  if (!clock)
    return {
      warnings: ['clock.unavailable: the execution has no harness line clock, so its train_time is not cross-checked'],
      violations,
    };
  const finalVal = [...clock.vals].reverse().find(([step]) => step === final.step) ?? clock.vals[clock.vals.length - 1];
  if (!finalVal) return { warnings: ['clock.unavailable: the harness clock saw no validation line'], violations };
  const steps = clock.steps.filter(([, at]) => at <= finalVal[1]);
  if (steps.length < 2) {
    violations.push(
      violation(
        'clock.burst',
        `only ${steps.length} training-step line(s) reached the harness before the final validation line: progress was not observable, so nothing vouches for train_time ${Math.round(final.trainTimeMs)} ms`,
      ),
    );
    return { warnings: [], violations };
  }
  const reported = reportedByStep(logLines(log));
  // Anchor: the first clocked step line after the last drop of the reported time (a timer reset).
  let anchor = 0;
  for (let i = 1; i < steps.length; i++) {
    const prev = reported.get(steps[i - 1][0]);
    const cur = reported.get(steps[i][0]);
    if (prev !== undefined && cur !== undefined && cur < prev) anchor = i;
  }
  let [anchorStep, anchorAt] = steps[anchor];
  let anchorReported = reported.get(anchorStep);
  if (anchorReported === undefined) {
    // Step lines without a time: the timer may start as late as step 10; anchor at the last clocked step <= 10.
    const warm = steps.filter(([s]) => s <= 10).pop() ?? steps[0];
    [anchorStep, anchorAt] = warm;
    anchorReported = 0;
  }
  const after = steps.filter(([, at]) => at >= anchorAt);
  const rates: number[] = [];
  for (let i = 1; i < after.length; i++) {
    const ds = after[i][0] - after[i - 1][0];
    if (ds > 0) rates.push((after[i][1] - after[i - 1][1]) / ds);
  }
  const stepMs = median(rates);
  let excused = 0;
  for (const [vStep, vAt] of clock.vals) {
    if (vAt < anchorAt || vAt > finalVal[1]) continue;
    const before = after.filter(([, at]) => at <= vAt).pop();
    if (!before) continue;
    excused += Math.max(0, vAt - before[1] - Math.max(0, vStep - before[0]) * stepMs);
  }
  const observed = finalVal[1] - anchorAt;
  const reportedSpan = final.trainTimeMs - anchorReported;
  const toleranceMs = Math.round(tol.slackMs + tol.fraction * observed + tol.steps * stepMs);
  const evidence: ClockEvidence = {
    observedMs: Math.round(observed),
    excusedMs: Math.round(excused),
    reportedMs: Math.round(reportedSpan),
    toleranceMs,
    stepMs: Math.round(stepMs * 10) / 10,
    anchorStep,
  };
  const shortfall = observed - excused - reportedSpan;
  if (shortfall > toleranceMs) {
    violations.push(
      violation(
        'clock.reported-faster-than-observed',
        `from step ${anchorStep} to the final validation the harness clocked ${evidence.observedMs} ms (${evidence.excusedMs} ms of it validation), the script reports ${evidence.reportedMs} ms: ${Math.round(shortfall)} ms missing, tolerance ${toleranceMs} ms`,
      ),
    );
  } else if (reportedSpan - observed > toleranceMs) {
    violations.push(
      violation(
        'clock.burst',
        `the lines from step ${anchorStep} to the final validation reached the harness within ${evidence.observedMs} ms but report ${evidence.reportedMs} ms of training: they were held back, so their arrival cannot vouch for the time`,
      ),
    );
  }
  return { warnings: [], violations, evidence };
}
