/**
 * Fraction of Speedup Recovered (FSR), as the Automated LLM Speedrunning Benchmark scores it: the one
 * home of the formula, which versions count, and the validity bound. Pure: workflow code imports it.
 *
 * Task R starts from human record R (time t_R) and aims at record R+1 (time t_next):
 *   FSR = (t_R - t_agent) / (t_R - t_next)
 * where t_agent is the best train_time among the run's valid versions.
 */

import type { NodeRecord } from './types';

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

/**
 * The agent's own versions that finished `ok` and broke no integrity rule (warnings do not exclude).
 * The root is left out: it is record R's code, timed at t_R by definition rather than at its time on
 * this hardware.
 */
export function scoredVersions(nodes: NodeRecord[]): NodeRecord[] {
  return nodes.filter((n) => n.stage !== 'root' && n.status === 'ok' && !n.violations?.length);
}

/**
 * The offline analysis's versions (`--offline-rule`): every agent version with metrics, whatever its
 * status or flags; validity is then only the val_loss bound (`OFFLINE_VALIDITY`).
 */
export function versionsWithMetrics(nodes: NodeRecord[]): NodeRecord[] {
  return nodes.filter((n) => n.stage !== 'root' && n.metrics.val_loss !== undefined);
}

/** The metrics FSR reads from each version: val_loss, and the records' time metric as train_time. */
export function fsrMetrics(nodes: NodeRecord[], timeMetric: string) {
  return nodes.map((n) => ({ val_loss: n.metrics.val_loss, train_time: n.metrics[timeMetric] }));
}

/** The FSR of a run's tree: its scored versions against the task's two human record times. */
export function treeFsr(
  nodes: NodeRecord[],
  records: { metric: string; baseline: number; target: number },
  rule: ValidityRule = IN_RUN_VALIDITY,
  select: (nodes: NodeRecord[]) => NodeRecord[] = scoredVersions,
): FsrResult & { best?: NodeRecord } {
  const scored = select(nodes);
  const r = runFsr(
    { baselineMs: records.baseline, targetMs: records.target, versions: fsrMetrics(scored, records.metric) },
    rule,
  );
  return r.bestIndex === undefined ? r : { ...r, best: scored[r.bestIndex] };
}
