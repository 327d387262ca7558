// The execution result, under one name, from the process that ran to the workflow that reads it: how it
// ended, its stored log, what the harness saw while it ran (clock, data fingerprint), the task's eval.
import type { ExecutionClock } from './clock';

/** `output_limit`: stopped because it wrote more than its log may hold (a flood costs one version). */
export type ExecutionOutcome = 'ok' | 'failed' | 'timeout' | 'cancelled' | 'output_limit';

export interface ExecutionResult {
  outcome: ExecutionOutcome;
  exitCode?: number;
  /** Wall-clock time measured by the harness, from spawn to exit. */
  wallMs: number;
  /** The stored (capped, redacted) log of stdout and stderr. */
  logRef: string;
  /** When the harness saw the lines the task's parser recognises (absent on results stored before it). */
  clock?: ExecutionClock;
  /** A sandbox limit the execution hit (memory, processes, disk, cpu), as the guard reported it. */
  limit?: string;
  /** Task data files whose size or mtime changed while the version ran. */
  dataChanged?: string[];
  /** The task's `eval` command, run after a successful execution (absent when the task has none). */
  eval?: Pick<ExecutionResult, 'outcome' | 'exitCode' | 'wallMs' | 'logRef'>;
  /** Set by the GPU activity: true when the result was measured before and read from the store. */
  cached?: boolean;
}

/** How one process ended, before its log is stored: what `runExecution` answers. */
export type ProcessResult = Pick<ExecutionResult, 'outcome' | 'exitCode' | 'wallMs'>;
