import { describe, expect, it } from 'vitest';
import type { RunView } from '../../core/types';
import { cellReportDir, cellValues, sweepReportData } from '../../app/report/sweep-report-data';
import type { CellOutcome } from '../../core/sweep-state';

const usage = (cost_usd: number) => ({ input_tokens: 0, output_tokens: 0, cached_input_tokens: 0, cost_usd, calls: 1 });
const values = (model: string, hint: string, seed: number) =>
  cellValues({
    task: { id: 'nanogpt_speedrun/speedrun_record_3' },
    model: { id: model },
    science_runner: { id: 'aide' },
    hint_level: hint as '0',
    seed,
  });
const view = (extra: Partial<RunView>): RunView => ({
  runId: 'r',
  task: 't',
  model: 'm',
  science_runner: 'aide',
  phase: 'executing',
  iteration: 1,
  n_iterations: 5,
  selection_metric: 'train_time',
  lower_is_better: true,
  usage: usage(0.5),
  gpu_seconds: 30,
  nodes: [],
  updated_at: '',
  ...extra,
});

describe('the sweep report data', () => {
  it('lists every cell with its settings, outcome and report link; a running cell shows its totals so far', () => {
    const done: CellOutcome = {
      status: 'completed',
      attempt: 1,
      runId: 's/a',
      best_metric: 900,
      fsr: 0.4,
      cost_usd: 1.25,
      gpu_seconds: 100,
    };
    const running: CellOutcome = { status: 'running', attempt: 2, runId: 's/b#2' };
    const data = sweepReportData({
      sweepId: 's',
      status: 'RUNNING',
      source: 'query',
      concurrency: 2,
      cells: [
        {
          cell: 'a',
          outcome: done,
          values: values('gpt-5', '0', 1),
          view: view({ best: { id: 3, metric: 900, speedup: 1.11, workspace: '' }, fsr: 0.4 }),
          report: 'runs/a/index.html',
        },
        {
          cell: 'b',
          outcome: running,
          values: values('gpt-5', '1+2', 1),
          view: view({ best: { id: 1, metric: 950, workspace: '' } }),
          report: 'runs/b/index.html',
        },
        { cell: 'c', outcome: { status: 'pending', attempt: 1 }, values: values('claude-sonnet-4-5', '0', 1) },
      ],
    });
    expect(data.counts).toEqual({ pending: 1, running: 1, completed: 1, failed: 0 });
    // Axes that do not vary (task, runner, seed) are not offered as heat-map dimensions.
    expect(data.axes).toEqual(['model', 'hint_level']);
    expect(data.cost_usd).toBe(1.75);
    expect(data.gpu_seconds).toBe(130);
    expect(data.cells[0]).toMatchObject({
      cell: 'a',
      best_metric: 900,
      fsr: 0.4,
      speedup: 1.11,
      cost_usd: 1.25,
      report: 'runs/a/index.html',
      selection_metric: 'train_time',
    });
    expect(data.cells[1]).toMatchObject({
      status: 'running',
      attempt: 2,
      best_metric: 950,
      cost_usd: 0.5,
      gpu_seconds: 30,
    });
    expect(data.cells[1].fsr).toBeUndefined();
    expect(data.cells[2]).toEqual({
      status: 'pending',
      attempt: 1,
      cell: 'c',
      values: values('claude-sonnet-4-5', '0', 1),
    });
  });

  it('keeps cell report folders inside the report', () => {
    expect(cellReportDir('nanogpt_speedrun-speedrun_record_3.gpt-5.aide.h1_2.s0')).toBe(
      'runs/nanogpt_speedrun-speedrun_record_3.gpt-5.aide.h1_2.s0',
    );
    expect(cellReportDir('../../etc/x')).toBe('runs/.._.._etc_x');
    expect(cellReportDir('..')).toBe('runs/_..');
  });
});
