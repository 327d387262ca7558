// A sweep's state and the pure functions over it. Imported by the workflow (keep it deterministic and
// free of Node APIs) and by the CLI (which applies the same retry rules to a finished sweep).

export type CellStatus = 'pending' | 'running' | 'completed' | 'failed';

/** What a cell came to. `attempt` counts starts; the child of attempt n > 1 is `<sweepId>/<cell>#n`. */
export interface CellOutcome {
  status: CellStatus;
  attempt: number;
  runId?: string;
  best_metric?: number;
  fsr?: number;
  cost_usd?: number;
  gpu_seconds?: number;
  stopped?: string;
  error?: string;
  started_at?: string;
  finished_at?: string;
}

export interface SweepInput {
  store: string;
  /** Control queue: the sweep, its activities and its child runs. */
  taskQueue: string;
  concurrency: number;
  continueAsNewEvery: number;
  /** [cell name, hash of its resolved RunConfig in the store]: configs themselves never enter history. */
  cells: [string, string][];
  /** Outcomes so far, index-aligned with `cells` (continue-as-new, or a restart after completion). */
  outcomes?: CellOutcome[];
}

export interface SweepResult {
  sweepId: string;
  counts: Record<CellStatus, number>;
  outcomes: CellOutcome[];
}

export interface ProgressArgs {
  status?: CellStatus;
  offset?: number;
  limit?: number;
}

export type CellRow = CellOutcome & { cell: string };

export interface SweepProgress {
  sweepId: string;
  total: number;
  concurrency: number;
  counts: Record<CellStatus, number>;
  cost_usd: number;
  gpu_seconds: number;
  /** Cells matching `status` from `offset`, at most `limit` (≤ MAX_PAGE) of them: the answer stays small. */
  offset: number;
  cells: CellRow[];
  next_offset?: number;
}

export interface RetryRequest {
  cells?: string[];
  failed?: boolean;
}

export const MAX_PAGE = 500;

export const cellRunId = (sweepId: string, cell: string, attempt: number) =>
  `${sweepId}/${cell}${attempt > 1 ? `#${attempt}` : ''}`;

export function countStatuses(outcomes: CellOutcome[]): Record<CellStatus, number> {
  const counts = { pending: 0, running: 0, completed: 0, failed: 0 };
  for (const o of outcomes) counts[o.status]++;
  return counts;
}

export function progressView(
  sweepId: string,
  input: SweepInput,
  outcomes: CellOutcome[],
  args: ProgressArgs = {},
): SweepProgress {
  const limit = Math.max(0, Math.min(args.limit ?? 100, MAX_PAGE));
  const offset = Math.max(0, args.offset ?? 0);
  const matching = outcomes.flatMap((o, i) =>
    !args.status || o.status === args.status ? [{ cell: input.cells[i][0], ...o }] : [],
  );
  const sum = (k: 'cost_usd' | 'gpu_seconds') => Math.round(outcomes.reduce((s, o) => s + (o[k] ?? 0), 0) * 1e4) / 1e4;
  return {
    sweepId,
    total: outcomes.length,
    concurrency: input.concurrency,
    counts: countStatuses(outcomes),
    cost_usd: sum('cost_usd'),
    gpu_seconds: sum('gpu_seconds'),
    offset,
    cells: matching.slice(offset, offset + limit),
    ...(offset + limit < matching.length ? { next_offset: offset + limit } : {}),
  };
}

/**
 * The cells a retry names: `--failed` takes every failed cell, `--cell` names them. A cell that is
 * pending or running cannot be retried; an unknown name is an error. Throws with the reason.
 */
export function cellsToRetry(names: string[], outcomes: CellOutcome[], req: RetryRequest): number[] {
  const picked = new Set<number>();
  if (req.failed) outcomes.forEach((o, i) => o.status === 'failed' && picked.add(i));
  for (const name of req.cells ?? []) {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`the sweep has no cell '${name}'`);
    const s = outcomes[i].status;
    if (s === 'pending' || s === 'running')
      throw new Error(`cell '${name}' is ${s}; only a finished cell can be retried`);
    picked.add(i);
  }
  if (!req.failed && !(req.cells ?? []).length)
    throw new Error('name cells to retry (--cell <name>…) or pass --failed');
  return [...picked].sort((a, b) => a - b);
}

/** Queues cells for another attempt (a fresh child id); the outcome of the last attempt is dropped. */
export function queueRetry(outcomes: CellOutcome[], indices: number[]) {
  for (const i of indices) outcomes[i] = { status: 'pending', attempt: outcomes[i].attempt + 1 };
}

/**
 * Outcomes of a sweep that ended without completing (failed, terminated) for a restart: a cell left
 * running lost its child with the sweep, so it runs again under a fresh id.
 */
export function outcomesForRestart(outcomes: CellOutcome[]): CellOutcome[] {
  return outcomes.map((o) => (o.status === 'running' ? { status: 'pending', attempt: o.attempt + 1 } : o));
}

/** The innermost message of a (child workflow / activity) failure chain, bounded. */
export function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && typeof e === 'object' && e.cause) e = e.cause as typeof e;
  const msg = (e && typeof e === 'object' ? e.message : String(e)) ?? String(err);
  return msg.length > 500 ? `${msg.slice(0, 497)}...` : msg;
}
