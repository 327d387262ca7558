import type { TaskConfig } from '../config/task';
import type { ExecutionOutcome } from '../exec/run-execution';
import { speedrunMetrics } from '../speedrun/log-parse';

export type NodeStatus = 'ok' | 'buggy' | 'timeout' | 'crashed';

/** Metrics from a log by the task's rules: named regexes (first capture group) or speedrun validation lines. */
export function extractMetrics(task: TaskConfig, log: string): Record<string, number> {
  if (task.metric_parser === 'speedrun') return speedrunMetrics(log);
  const metrics: Record<string, number> = {};
  const lines = log.split('\n');
  for (const [name, pattern] of Object.entries(task.metric_patterns)) {
    const re = new RegExp(pattern);
    const values = lines.flatMap((line) => {
      const m = re.exec(line);
      const v = m?.[1] !== undefined ? Number(m[1]) : NaN;
      return Number.isNaN(v) && !/nan/i.test(m?.[1] ?? '') ? [] : [v];
    });
    if (values.length === 0) continue;
    const better = (a: number, b: number) => (task.lower_is_better ? a < b : a > b);
    const pick =
      task.metric_extract === 'best' && name === task.selection_metric
        ? values.reduce((best, v) => (better(v, best) ? v : best))
        : values[values.length - 1];
    metrics[name] = task.metric_types[name] === 'int' ? Math.trunc(pick) : pick;
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
  execution: { outcome: ExecutionOutcome; exitCode?: number; wallMs: number; timeoutMs?: number },
  metrics: Record<string, number>,
  logTail: string,
): Verdict {
  const lastLine = logTail.trim().split('\n').slice(-1)[0]?.slice(0, 300) ?? '';
  if (execution.outcome === 'timeout') return { status: 'timeout', valid: false, reason: `killed after the task's ${task.timeout_s}s timeout` };
  if (execution.outcome !== 'ok') {
    return { status: 'crashed', valid: false, reason: `exited with code ${execution.exitCode ?? 'none'}${lastLine ? `: ${lastLine}` : ''}` };
  }
  const value = metrics[task.selection_metric];
  if (value === undefined) return { status: 'buggy', valid: false, reason: `the log has no ${task.selection_metric} metric` };
  if (!Number.isFinite(value)) return { status: 'buggy', valid: false, reason: `${task.selection_metric} is ${value}` };
  for (const [name, max] of Object.entries(task.metrics_at_most)) {
    if (!(metrics[name] <= max)) return { status: 'buggy', valid: false, reason: `${name}=${metrics[name] ?? 'missing'} breaks the bound ${name} <= ${max}` };
  }
  for (const [name, min] of Object.entries(task.metrics_at_least)) {
    if (!(metrics[name] >= min)) return { status: 'buggy', valid: false, reason: `${name}=${metrics[name] ?? 'missing'} breaks the bound ${name} >= ${min}` };
  }
  return { status: 'ok', valid: true };
}
