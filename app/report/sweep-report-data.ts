import type { RunConfig } from '../../src/config/schema';
import type { CellOutcome, CellStatus } from '../../core/sweep-state';
import { AXES, type Axis } from '../../src/sweep/spec';
import type { RunView } from '../../core/types';

/** One cell of the sweep as its report shows it. */
export interface SweepCellReport extends CellOutcome {
  cell: string;
  /** The cell's settings along each axis of the matrix. */
  values: Record<Axis, string>;
  selection_metric?: string;
  lower_is_better?: boolean;
  speedup?: number;
  nodes?: number;
  /** Relative link to the cell's run report, when it has a run. */
  report?: string;
}

export interface SweepReportData {
  kind: 'sweep';
  generated_at: string;
  sweepId: string;
  status: string;
  /** `query`: from the live sweep; `result`: its completed result; `runs`: rebuilt from its child runs (no worker answered). */
  source: 'query' | 'result' | 'runs';
  concurrency?: number;
  counts: Record<CellStatus, number>;
  cost_usd: number;
  gpu_seconds: number;
  /** Axes whose value differs between cells, in matrix order. */
  axes: Axis[];
  cells: SweepCellReport[];
}

/** A cell's settings, read from its resolved config. */
export function cellValues(
  config: Pick<RunConfig, 'hint_level' | 'seed'> & {
    task: { id: string };
    model: { id: string };
    science_runner: { id: string };
  },
): Record<Axis, string> {
  return {
    task: config.task.id,
    model: config.model.id,
    science_runner: config.science_runner.id,
    hint_level: String(config.hint_level),
    seed: String(config.seed),
  };
}

/** Folder (under the sweep report) of a cell's run report: one path segment, never `.` or `..`. */
export function cellReportDir(cell: string): string {
  const safe = cell.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return `runs/${/^\.*$/.test(safe) ? `_${safe}` : safe}`;
}

export function sweepReportData(args: {
  sweepId: string;
  status: string;
  source: SweepReportData['source'];
  concurrency?: number;
  cells: { cell: string; outcome: CellOutcome; values: Record<Axis, string>; view?: RunView; report?: string }[];
}): SweepReportData {
  const counts: Record<CellStatus, number> = { pending: 0, running: 0, completed: 0, failed: 0 };
  let cost = 0;
  let gpu = 0;
  const cells = args.cells.map(({ cell, outcome, values, view, report }): SweepCellReport => {
    counts[outcome.status]++;
    // A running cell's outcome has no totals yet: its run's view has them as of now.
    const cost_usd = outcome.cost_usd ?? view?.usage.cost_usd;
    const gpu_seconds = outcome.gpu_seconds ?? view?.gpu_seconds;
    cost += cost_usd ?? 0;
    gpu += gpu_seconds ?? 0;
    return {
      ...outcome,
      cell,
      values,
      ...(outcome.best_metric === undefined && view?.best ? { best_metric: view.best.metric } : {}),
      ...(outcome.fsr === undefined && view?.fsr !== undefined ? { fsr: view.fsr } : {}),
      ...(cost_usd !== undefined ? { cost_usd } : {}),
      ...(gpu_seconds !== undefined ? { gpu_seconds } : {}),
      ...(view
        ? { selection_metric: view.selection_metric, lower_is_better: view.lower_is_better, nodes: view.nodes.length }
        : {}),
      ...(view?.best?.speedup !== undefined ? { speedup: view.best.speedup } : {}),
      ...(report ? { report } : {}),
    };
  });
  const axes = AXES.filter((a) => new Set(cells.map((c) => c.values[a])).size > 1);
  return {
    kind: 'sweep',
    generated_at: new Date().toISOString(),
    sweepId: args.sweepId,
    status: args.status,
    source: args.source,
    ...(args.concurrency !== undefined ? { concurrency: args.concurrency } : {}),
    counts,
    cost_usd: Math.round(cost * 1e4) / 1e4,
    gpu_seconds: Math.round(gpu * 10) / 10,
    axes,
    cells,
  };
}
