import { describe, it, expect } from 'vitest';
import { ClockRecorder, SampledSeries, CLOCK_EDGE, CLOCK_MIDDLE_MAX, type ClockEntry } from '../../src/exec/clock';
import { speedrunLineKind } from '../../src/speedrun/log-parse';
import { lineKindFor } from '../../src/exec/execute-version';
import { taskSchema } from '../../src/config/task';

const series = (n: number) => {
  const s = new SampledSeries();
  for (let i = 0; i < n; i++) s.add([i, i * 10]);
  return s.entries();
};

describe('SampledSeries', () => {
  it('keeps everything up to first + middle + last entries', () => {
    const all = CLOCK_EDGE * 2 + CLOCK_MIDDLE_MAX;
    expect(series(0)).toEqual([]);
    expect(series(7)).toEqual(Array.from({ length: 7 }, (_, i) => [i, i * 10]));
    expect(series(all).map(([s]) => s)).toEqual(Array.from({ length: all }, (_, i) => i));
  });

  it('a long stream: the first 50 and last 50 exactly, an evenly spaced middle, at most 300 in all', () => {
    for (const n of [301, 1000, 5100, 123_457, 1_000_000]) {
      const kept = series(n).map(([s]) => s);
      expect(kept.length).toBeLessThanOrEqual(300);
      expect(kept.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(kept.slice(-50)).toEqual(Array.from({ length: 50 }, (_, i) => n - 50 + i));
      const middle = kept.slice(50, -50);
      expect(middle.length).toBeGreaterThanOrEqual(CLOCK_MIDDLE_MAX / 2);
      const gaps = new Set(middle.slice(1).map((v, i) => v - middle[i]));
      expect(gaps.size).toBe(1); // one stride: evenly spaced
      const stride = [...gaps][0];
      // It spans the middle: what it leaves out at the end is less than two strides.
      expect(middle[0]).toBe(50);
      expect(n - 50 - middle[middle.length - 1]).toBeLessThanOrEqual(2 * stride);
      expect([...kept].sort((a, b) => a - b)).toEqual(kept); // in order
    }
  });
});

describe('ClockRecorder', () => {
  const run = [
    'import torch  # the source copy comes first',
    '    print0(f"step:{step}/{n} val_loss:{v:.4f} train_time:{t:.0f}ms")',
    'step:0/20 val_loss:10.8258 train_time:0ms step_avg:nanms',
    'step:1/20 train_time:25ms step_avg:nanms',
    'step:2/20 train_time:51ms step_avg:25.5ms',
    'step:10/20 val_loss:4.1 train_time:260ms step_avg:26ms',
    'step:20/20 val_loss:3.27 train_time:520ms step_avg:26ms',
    'peak memory 30000 MiB',
  ];

  it('stamps step and validation lines as the task parser reads them, counts every line', () => {
    const rec = new ClockRecorder(speedrunLineKind);
    run.forEach((line, i) => rec.line(line, 100 + i * 10 + 0.4)); // whole ms are kept
    expect(rec.clock()).toEqual({
      steps: [
        [1, 130],
        [2, 140],
      ],
      vals: [
        [0, 120],
        [10, 150],
        [20, 160],
      ],
      lines: 8,
      firstOutputMs: 100,
      lastOutputMs: 170,
    });
  });

  it('a regex task has no step lines; a silent execution has no output times', () => {
    const rec = new ClockRecorder(
      lineKindFor(
        taskSchema.parse({
          id: 't',
          description: 'd',
          workspace_template: 'w',
          fnames: ['a.py'],
          entry_fname: 'a.py',
          timeout_s: 1,
          selection_metric: 'x',
        }),
      ),
    );
    run.forEach((line, i) => rec.line(line, i));
    expect(rec.clock()).toEqual({ steps: [], vals: [], lines: 8, firstOutputMs: 0, lastOutputMs: 7 });
    expect(new ClockRecorder(speedrunLineKind).clock()).toEqual({ steps: [], vals: [], lines: 0 });
  });

  it('a flood of step lines stays small (it travels in workflow history)', () => {
    const rec = new ClockRecorder(speedrunLineKind);
    for (let i = 0; i < 200_000; i++) rec.line(`step:${i}/200000 train_time:${i}ms step_avg:1ms`, i / 100);
    const clock = rec.clock();
    expect(clock.lines).toBe(200_000);
    expect(clock.steps.length).toBeLessThanOrEqual(300);
    expect(clock.steps[clock.steps.length - 1]).toEqual<ClockEntry>([199_999, 2000]);
    expect(JSON.stringify(clock).length).toBeLessThan(8000);
  });
});
