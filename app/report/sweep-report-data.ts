import type { RunConfig } from '../../src/config/schema';
import type { CellOutcome, CellStatus } from '../../core/sweep-state';
import { AXES, type Axis } from '../../src/sweep/spec';
import type { RunView } from '../../core/types';
import { aggregateScores, type GroupScore } from '../../src/score/aggregate';
import type { TrainingCurve } from './training-curves';

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
  /** The training curve of the cell's best version (speedrun tasks). */
  best_curve?: TrainingCurve;
}

/** One bar of the paper-style figure: FSR-bar of a hint level × scaffold × model group, ± its SEM. */
export interface FsrBar {
  hint_level: string;
  scaffold: string;
  model: string;
  fsr_bar: number;
  sem: number;
  /** Runs behind the bar, and the records they cover. */
  runs: number;
  records: number;
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
  /** FSR by hint level × scaffold × model (src/score's aggregation), when some cell has an FSR. */
  fsr_figure?: FsrBar[];
  /** Why the figure is missing although cells have FSRs (the aggregation failed). */
  fsr_figure_error?: string;
}

/** The FSR figure's bars, as `speedrunner score` aggregates runs: top runs per configuration and record. */
export function fsrFigure(cells: readonly SweepCellReport[]): FsrBar[] {
  const rows = cells
    .filter((c) => typeof c.fsr === 'number')
    .map((c) => ({
      record: c.values.task,
      fsr: c.fsr!,
      model: c.values.model,
      scaffold: c.values.science_runner,
      hint_level: c.values.hint_level,
    }));
  if (!rows.length) return [];
  const groups: GroupScore[] = aggregateScores(rows, {
    configKeys: ['hint_level', 'scaffold', 'model'],
    resamples: 2000,
    seed: 0,
  });
  return groups.map((g) => ({
    hint_level: g.key.hint_level,
    scaffold: g.key.scaffold,
    model: g.key.model,
    fsr_bar: g.fsr_bar,
    sem: g.sem,
    runs: g.runs,
    records: g.records.length,
  }));
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
  cells: {
    cell: string;
    outcome: CellOutcome;
    values: Record<Axis, string>;
    view?: RunView;
    report?: string;
    best_curve?: TrainingCurve;
  }[];
}): SweepReportData {
  const counts: Record<CellStatus, number> = { pending: 0, running: 0, completed: 0, failed: 0 };
  let cost = 0;
  let gpu = 0;
  const cells = args.cells.map(({ cell, outcome, values, view, report, best_curve }): SweepCellReport => {
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
      ...(best_curve ? { best_curve } : {}),
    };
  });
  let fsr_figure: FsrBar[] | undefined;
  let fsr_figure_error: string | undefined;
  try {
    fsr_figure = fsrFigure(cells);
  } catch (err) {
    fsr_figure_error = (err as Error).message;
  }
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
    ...(fsr_figure?.length ? { fsr_figure } : {}),
    ...(fsr_figure_error ? { fsr_figure_error } : {}),
  };
}
