// Run-time rules on one execution: what its log, the harness clock and the data fingerprint show.
import type { TaskConfig } from '../config/task';
import type { ExecutionClock } from '../exec/clock';
import { linesOf } from '../metrics/log-lines';
import { parseSpeedrunLog, speedrunLineKind } from '../speedrun/log-parse';
import {
  checkClock,
  DEFAULT_CLOCK_TOLERANCE,
  logLines,
  type ReadableLog,
  type ClockEvidence,
  type ClockTolerance,
} from './clock-rules';
import { flagTimingDisagreement } from './flags';
import { mergeVerdicts, violation, type IntegrityVerdict, type Violation } from './rules';

export interface ExecutionEvidence {
  /** The training log as stored. */
  log: ReadableLog;
  wallMs: number;
  clock?: ExecutionClock;
  /** Data files whose size or mtime changed while the version ran (the harness's fingerprint). */
  dataChanged?: string[];
  /** Metrics the log patterns missed and the LLM read instead. */
  llmMetrics?: string[];
  /** The reported train_time, for tasks that are not in the speedrun format. */
  reportedTrainMs?: number;
  /** Whether the execution ran to its end (exit 0): only then are its log and clock held to the rules. */
  completed?: boolean;
}

/** The final validation must come at or after the last training step: otherwise the trained model was never validated. */
function finalValidation(log: ReadableLog, clock: ExecutionClock | undefined): Violation[] {
  const { validations } = parseSpeedrunLog(logLines(log));
  const final = validations[validations.length - 1];
  if (!final) return [violation('val.missing', 'the log has no validation line (step:N/M val_loss:X train_time:Tms)')];
  let trained = 0;
  for (const line of linesOf(logLines(log))) {
    const kind = speedrunLineKind(line);
    if (kind?.kind === 'step') trained = Math.max(trained, kind.step);
  }
  if (trained > final.step) {
    return [violation('val.missing', `training reached step ${trained}, the last validation is at step ${final.step}`)];
  }
  const lastStepAt = clock?.steps[clock.steps.length - 1]?.[1];
  const finalAt = clock?.vals[clock.vals.length - 1]?.[1];
  if (lastStepAt !== undefined && finalAt !== undefined && finalAt < lastStepAt) {
    return [
      violation(
        'val.missing',
        `the last validation line arrived at ${finalAt} ms, before the last training-step line (${lastStepAt} ms)`,
      ),
    ];
  }
  return [];
}

/** Bounded metrics (the target) must come from the harness's own parse of the log, never from the LLM fallback. */
function targetParsed(task: TaskConfig, llmMetrics: string[]): Violation[] {
  const bounded = new Set([
    ...Object.keys(task.metrics_at_most),
    ...Object.keys(task.metrics_at_least),
    ...(task.records ? [task.records.metric] : []),
  ]);
  return llmMetrics
    .filter((m) => bounded.has(m))
    .map((m) =>
      violation(
        'target.parsed',
        `${m} was read by the LLM, not parsed by the harness from a ${task.metric_parser === 'speedrun' ? 'step:N/M val_loss:X train_time:Tms' : 'metric_patterns'} line`,
      ),
    );
}

export function checkExecution(
  task: TaskConfig,
  ev: ExecutionEvidence,
  tol: ClockTolerance = DEFAULT_CLOCK_TOLERANCE,
): IntegrityVerdict & { clock?: ClockEvidence } {
  const data: Violation[] = ev.dataChanged?.length
    ? [violation('data.modified', `the execution modified task data: ${ev.dataChanged.join(', ')}`)]
    : [];
  if (ev.completed === false) return { warnings: [], violations: data };
  const target = targetParsed(task, ev.llmMetrics ?? []);
  if (task.metric_parser !== 'speedrun') {
    // No step lines to clock: the wall-time plausibility check stays, as a warning.
    const timing = ev.reportedTrainMs !== undefined ? flagTimingDisagreement(ev.reportedTrainMs, ev.wallMs) : undefined;
    return { warnings: timing ? [timing] : [], violations: [...data, ...target] };
  }
  const clocked = checkClock(ev.log, ev.clock, ev.wallMs, tol);
  const merged = mergeVerdicts({ violations: [...data, ...target, ...finalValidation(ev.log, ev.clock)] }, clocked);
  return clocked.evidence ? { ...merged, clock: clocked.evidence } : merged;
}
