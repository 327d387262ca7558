// Live progress in the terminal while a run (or a sweep) goes on: one status line, redrawn in place
// under the lines the command prints. Silent unless stdout is a terminal (and never with --json).
import type { Client } from '@temporalio/client';
import { executionsInFlight, type ExecutionInFlight } from '../report/in-flight';
import { readProgress } from '../../temporal/client/sweep-submit';
import type { SweepProgress } from '../../core/sweep-state';
import { stateQuery } from '../../temporal/workflows/speedrun';

/** What the status line shows; built from queries, rendered by a pure function. */
export interface ProgressSnapshot {
  /** `executing`, `paused`, … for a run; for a sweep, what its cells are doing. */
  phase: string;
  done: number;
  total: number;
  /** What `done/total` counts: `iteration`, `cells`. */
  unit: string;
  /** e.g. `score=0.512 (v_2)`; a run without a valid version yet shows `best –`. */
  best?: string;
  /** More short facts, e.g. a sweep's `2 failed`. */
  notes?: string[];
  cost_usd: number;
  executions: ExecutionInFlight[];
}

const fmtNum = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5))));

export function progressBar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return (
    (hms[0] ? `${hms[0]}:${String(hms[1]).padStart(2, '0')}` : String(hms[1])) + `:${String(hms[2]).padStart(2, '0')}`
  );
}

function executionPart(e: ExecutionInFlight, more: number): string {
  const who = e.nodeId !== undefined ? `v_${e.nodeId} ` : '';
  const steps =
    e.totalSteps && e.step !== undefined
      ? `${progressBar(e.step / e.totalSteps, 16)} ${e.step}/${e.totalSteps}`
      : e.step !== undefined
        ? `step ${e.step}`
        : 'running';
  const elapsed = e.elapsed_ms !== undefined ? ` ${formatElapsed(e.elapsed_ms)}` : '';
  const retry = e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
  return `${who}${steps}${elapsed}${retry}${more ? ` (+${more} more)` : ''}`;
}

/**
 * The status line, at most `columns - 1` characters (a line that wraps cannot be redrawn in place):
 * `executing · iteration 3/8 · best score=0.512 (v_2) · $0.0123 · v_4 ████████░░░░░░░░ 2/4 0:01`.
 */
export function renderProgress(s: ProgressSnapshot, columns = 80): string {
  const parts = [s.phase, `${s.unit} ${s.done}/${s.total}`];
  if (s.best !== undefined || s.unit === 'iteration') parts.push(`best ${s.best ?? '–'}`);
  parts.push(...(s.notes ?? []), `$${s.cost_usd.toFixed(4)}`);
  if (s.executions.length) parts.push(executionPart(s.executions[0], s.executions.length - 1));
  const line = parts.join(' · ');
  const max = Math.max(10, columns - 1);
  return [...line].length > max ? [...line].slice(0, max - 1).join('') + '…' : line;
}

/** A run's snapshot from its `state` query and the executions in flight (pure). */
export function runSnapshot(
  state: {
    phase: string;
    iteration: number;
    n_iterations: number;
    selection_metric: string;
    best?: { id: number; metric: number };
    usage: { cost_usd: number };
  },
  executions: ExecutionInFlight[],
): ProgressSnapshot {
  return {
    phase: state.phase,
    done: state.iteration,
    total: state.n_iterations,
    unit: 'iteration',
    best: state.best ? `${state.selection_metric}=${fmtNum(state.best.metric)} (v_${state.best.id})` : undefined,
    cost_usd: state.usage.cost_usd,
    executions,
  };
}

export async function pollRunProgress(client: Client, runId: string): Promise<ProgressSnapshot> {
  const handle = client.workflow.getHandle(runId);
  const [state, desc] = await Promise.all([handle.query(stateQuery), handle.describe()]);
  return runSnapshot(state, await executionsInFlight(client, desc));
}

export interface LiveProgress {
  /** Prints a line above the status line (use it instead of console.log while progress shows). */
  log(line: string): void;
  stop(): void;
}

export interface LiveProgressOptions {
  stream?: NodeJS.WriteStream;
  /** False with --json; the stream must also be a terminal. */
  enabled?: boolean;
  intervalMs?: number;
}

/**
 * Polls `poll` and redraws the status line in place. When disabled (not a terminal, or --json), it
 * shows nothing and `log` is plain console.log. A failed poll (a worker restarting) keeps the last line.
 */
export function startLiveProgress(
  poll: () => Promise<ProgressSnapshot | undefined>,
  opts: LiveProgressOptions = {},
): LiveProgress {
  const stream = opts.stream ?? process.stdout;
  if (opts.enabled === false || !stream.isTTY) return { log: (line) => console.log(line), stop: () => {} };
  let status = '';
  let stopped = false;
  const clear = () => status && stream.write('\r\x1b[2K');
  const draw = () => status && stream.write(status);
  const tick = async () => {
    const snap = await poll().catch(() => undefined);
    if (stopped || !snap) return;
    clear();
    status = renderProgress(snap, stream.columns || 80);
    draw();
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void tick().finally(() => (busy = false));
  }, opts.intervalMs ?? 1000);
  void tick();
  return {
    log(line) {
      clear();
      stream.write(`${line}\n`);
      draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clear();
      status = '';
    },
  };
}

/** Live progress of one run: phase, iteration n/N, best so far, spend, the execution in flight. */
export function startRunProgress(client: Client, runId: string, opts: LiveProgressOptions = {}): LiveProgress {
  return startLiveProgress(() => pollRunProgress(client, runId), opts);
}

/** A sweep's snapshot: cells done of all, failures, spend, and the executions of its running cells (pure). */
export function sweepSnapshot(
  p: Pick<SweepProgress, 'total' | 'counts' | 'cost_usd'>,
  executions: ExecutionInFlight[],
): ProgressSnapshot {
  const { running, pending, completed, failed } = p.counts;
  return {
    phase: running ? `${running} running` : pending ? 'starting cells' : 'done',
    done: completed + failed,
    total: p.total,
    unit: 'cells',
    notes: failed ? [`${failed} failed`] : [],
    cost_usd: p.cost_usd,
    executions,
  };
}

/** Reads a sweep's counts and the executions of (at most 8 of) its running cells. */
export async function pollSweepProgress(client: Client, sweepId: string): Promise<ProgressSnapshot> {
  const { progress } = await readProgress(client, sweepId, { status: 'running', limit: 8 });
  const executions = await Promise.all(
    progress.cells
      .filter((c) => c.runId)
      .map(async (c) => {
        const desc = await client.workflow
          .getHandle(c.runId!)
          .describe()
          .catch(() => undefined);
        return desc ? executionsInFlight(client, desc) : [];
      }),
  );
  return sweepSnapshot(progress, executions.flat());
}

/**
 * Live progress of a sweep, for `speedrunner sweep` (app/cli/sweep.ts): cells n/N, failures, spend,
 * and a bar for a training execution in flight. Print other lines through the returned `log`.
 */
export function startSweepProgress(client: Client, sweepId: string, opts: LiveProgressOptions = {}): LiveProgress {
  return startLiveProgress(() => pollSweepProgress(client, sweepId), opts);
}
