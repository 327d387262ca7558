import type { TaskConfig } from '../config/task';
import type { ExecutionOutcome } from '../exec/run-execution';
import { speedrunMetrics } from '../speedrun/log-parse';
import { MIB, formatMib } from '../exec/capped-log';
import { linesOf, type LogText } from './log-lines';

export type NodeStatus = 'ok' | 'buggy' | 'timeout' | 'crashed';

/** Metrics from a log by the task's rules: named regexes (first capture group) or speedrun validation lines. */
export function extractMetrics(task: TaskConfig, log: LogText): Record<string, number> {
  if (task.metric_parser === 'speedrun') return speedrunMetrics(log);
  return extractByPatterns(task.metric_patterns, task.metric_types, log, bestOf(task));
}

/** The metrics of the task's `eval` command, read from its own log by its own patterns. */
export function extractEvalMetrics(task: TaskConfig, log: LogText): Record<string, number> {
  if (!task.eval) return {};
  return extractByPatterns(task.eval.metric_patterns, task.eval.metric_types, log, bestOf(task));
}

/** Which metric takes its best value over the log rather than its last (`metric_extract: best`). */
interface BestRule {
  metric?: string;
  lowerIsBetter: boolean;
}
const bestOf = (task: TaskConfig): BestRule => ({
  metric: task.metric_extract === 'best' ? task.selection_metric : undefined,
  lowerIsBetter: task.lower_is_better,
});

/**
 * Named regexes, each matched line by line; its first capture group is the value. A pattern that
 * matches several lines gives its last value, or its best for the selection metric under `best`.
 * One pass over the lines, keeping one value per pattern.
 */
export function extractByPatterns(
  patterns: Record<string, string>,
  types: Record<string, 'float' | 'int'>,
  log: LogText,
  best: BestRule,
): Record<string, number> {
  const rules = Object.entries(patterns).map(([name, pattern]) => ({
    name,
    re: new RegExp(pattern),
    keepBest: best.metric === name,
  }));
  const better = (a: number, b: number) => (best.lowerIsBetter ? a < b : a > b);
  const picked = new Map<string, number>();
  for (const line of linesOf(log)) {
    for (const { name, re, keepBest } of rules) {
      const m = re.exec(line);
      if (m?.[1] === undefined) continue;
      const v = Number(m[1]);
      if (Number.isNaN(v) && !/nan/i.test(m[1])) continue;
      const sofar = picked.get(name);
      if (sofar === undefined || !keepBest || better(v, sofar)) picked.set(name, v);
    }
  }
  const metrics: Record<string, number> = {};
  for (const { name } of rules) {
    const pick = picked.get(name);
    if (pick !== undefined) metrics[name] = types[name] === 'int' ? Math.trunc(pick) : pick;
  }
  return metrics;
}

export interface Verdict {
  status: NodeStatus;
  /** Valid = ran, has the selection metric, and keeps every bound: a candidate for "best". */
  valid: boolean;
  reason?: string;
}

/** Decides a version's status from how its execution ended and what it measured. */
export function judgeExecution(
  task: TaskConfig,
  execution: { outcome: ExecutionOutcome; exitCode?: number; wallMs: number; timeoutMs?: number; limit?: string },
  metrics: Record<string, number>,
  logTail: string,
  /** Private metrics: a broken bound is reported without their name or value. */
  hidden: string[] = [],
): Verdict {
  const lastLine = logTail.trim().split('\n').slice(-1)[0]?.slice(0, 300) ?? '';
  // The guard's limit line is believed only for an execution that did end badly (a script can print one).
  if (execution.limit && execution.outcome !== 'ok' && execution.outcome !== 'output_limit') {
    const timedOut = execution.outcome === 'timeout';
    return {
      status: timedOut ? 'timeout' : 'crashed',
      valid: false,
      reason: `sandbox limit (${execution.limit})${timedOut ? `, then killed after the task's ${task.timeout_s}s timeout` : ''}`,
    };
  }
  if (execution.outcome === 'timeout')
    return { status: 'timeout', valid: false, reason: `killed after the task's ${task.timeout_s}s timeout` };
  if (execution.outcome === 'output_limit')
    return { status: 'crashed', valid: false, reason: `output limit (${formatMib(task.max_output_mb * MIB)} MiB)` };
  if (execution.outcome !== 'ok') {
    return {
      status: 'crashed',
      valid: false,
      reason: `exited with code ${execution.exitCode ?? 'none'}${lastLine ? `: ${lastLine}` : ''}`,
    };
  }
  const value = metrics[task.selection_metric];
  if (value === undefined)
    return { status: 'buggy', valid: false, reason: `the log has no ${task.selection_metric} metric` };
  if (!Number.isFinite(value)) return { status: 'buggy', valid: false, reason: `${task.selection_metric} is ${value}` };
  const broken = (name: string, bound: string): Verdict => ({
    status: 'buggy',
    valid: false,
    reason: hidden.includes(name)
      ? 'a private metric breaks its bound'
      : `${name}=${metrics[name] ?? 'missing'} breaks the bound ${name} ${bound}`,
  });
  for (const [name, max] of Object.entries(task.metrics_at_most)) {
    if (!(metrics[name] <= max)) return broken(name, `<= ${max}`);
  }
  for (const [name, min] of Object.entries(task.metrics_at_least)) {
    if (!(metrics[name] >= min)) return broken(name, `>= ${min}`);
  }
  return { status: 'ok', valid: true };
}
