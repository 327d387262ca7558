import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractEvalMetrics, extractMetrics, judgeExecution } from '../../src/metrics/analyze';
import { HARNESS_WALL_METRIC } from '../../src/config/task';
import { taskSchema, type TaskInput } from '../../src/config/task';
import { loadTask } from '../../src/config/load';

const task = (over: Partial<TaskInput> = {}) =>
  taskSchema.parse({
    id: 't',
    description: 'd',
    workspace_template: 'w',
    fnames: ['main.py'],
    entry_fname: 'main.py',
    timeout_s: 30,
    selection_metric: 'time',
    metric_patterns: {
      time: '^time: ([\\d.]+)',
      answer: '^answer: (-?[\\d.]+)',
      loss: '^loss: (\\S+)',
    },
    metric_types: { time: 'float', answer: 'int', loss: 'float' },
    ...over,
  });

const LOG = [
  'starting',
  'time: 30.5',
  'loss: 2.5',
  'answer: 41.9',
  'time: 10.25',
  'loss: abc', // not a number: ignored
  'time: 20',
  '  time: 1', // the pattern is anchored: indented lines do not count
  'done',
].join('\n');

describe('extractMetrics (regex)', () => {
  it('takes the last match of each pattern by default', () => {
    expect(extractMetrics(task(), LOG)).toEqual({ time: 20, answer: 41, loss: 2.5 });
  });

  it('takes the best match of the selection metric with metric_extract best, the last for the others', () => {
    const log = `${LOG}\nanswer: 7\nloss: 9`;
    expect(extractMetrics(task({ metric_extract: 'best' }), log)).toEqual({ time: 10.25, answer: 7, loss: 9 });
    expect(extractMetrics(task({ metric_extract: 'best', lower_is_better: false }), log)).toEqual({
      time: 30.5,
      answer: 7,
      loss: 9,
    });
    expect(extractMetrics(task({ metric_extract: 'last', lower_is_better: false }), log).time).toBe(20);
  });

  it('truncates int metrics toward zero', () => {
    expect(extractMetrics(task(), 'answer: 3.99').answer).toBe(3);
    expect(extractMetrics(task(), 'answer: -3.99').answer).toBe(-3);
    expect(extractMetrics(task({ metric_types: {} }), 'answer: 3.99').answer).toBe(3.99);
  });

  it('keeps nan as NaN, skips other non-numbers, and leaves metrics that never matched out', () => {
    const m = extractMetrics(task(), 'loss: nan\nanswer: x\n');
    expect(Object.keys(m)).toEqual(['loss']);
    expect(m.loss).toBeNaN();
    expect(extractMetrics(task(), 'loss: 1.0\nloss: NaN').loss).toBeNaN();
    expect(extractMetrics(task(), 'loss: 1.0\nloss: junk').loss).toBe(1);
    expect(extractMetrics(task(), 'nothing to see')).toEqual({});
    expect(extractMetrics(task(), '')).toEqual({});
  });

  it("reads the shipped collatz task's output", () => {
    const home = mkdtempSync(join(tmpdir(), 'sr-analyze-'));
    const saved = process.env.SPEEDRUNNER_HOME;
    process.env.SPEEDRUNNER_HOME = home;
    try {
      const collatz = loadTask('collatz');
      expect(extractMetrics(collatz, 'answer: 77031\nchain_length: 351\ntime_ms: 812.5\n')).toEqual({
        answer: 77031,
        chain_length: 351,
        time_ms: 812.5,
      });
    } finally {
      if (saved === undefined) delete process.env.SPEEDRUNNER_HOME;
      else process.env.SPEEDRUNNER_HOME = saved;
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('extractEvalMetrics', () => {
  it("reads the eval log by the eval command's own patterns and types, not the training ones", () => {
    const t = task({
      eval: {
        args: ['python', 'eval.py'],
        metric_patterns: { acc: '^acc=([\\d.]+)', n: '^n=(\\d+)' },
        metric_types: { n: 'int' },
      },
    });
    expect(extractEvalMetrics(t, 'time: 5\nacc=0.5\nacc=0.75\nn=12.9\n')).toEqual({ acc: 0.75, n: 12 });
    expect(extractEvalMetrics(task(), 'acc=0.5')).toEqual({});
  });
});

describe('extractMetrics (speedrun)', () => {
  const speedrun = task({
    metric_parser: 'speedrun',
    selection_metric: 'train_time',
    metric_patterns: { time: '^(\\d+)' },
  });

  it('reads step, val_loss and train_time from the last validation line, ignoring regex patterns', () => {
    const log = [
      'print0(f"step:{step}/{n} val_loss:{v:.4f} train_time:{t:.0f}ms")',
      'step:0/100 val_loss:10.8 train_time:0ms step_avg:nanms',
      'step:50/100 train_loss:4.0 train_time:5000ms step_avg:100ms',
      'step:100/100 val_loss:3.2712 train_time:10250ms step_avg:102.5ms',
      '12345',
    ].join('\n');
    expect(extractMetrics(speedrun, log)).toEqual({ step: 100, val_loss: 3.2712, train_time: 10250 });
  });

  it('gives no metrics without a validation line, and NaN for a diverged run', () => {
    expect(extractMetrics(speedrun, 'step:1/100 train_loss:4.0 train_time:5ms')).toEqual({});
    expect(extractMetrics(speedrun, 'step:100/100 val_loss:nan train_time:999ms').val_loss).toBeNaN();
  });
});

describe('judgeExecution', () => {
  const t = task({ metrics_at_most: { answer: 42 }, metrics_at_least: { answer: 40, loss: 0 } });
  const ok = { outcome: 'ok' as const, exitCode: 0, wallMs: 100 };

  it('a timeout', () => {
    expect(judgeExecution(t, { outcome: 'timeout', wallMs: 30_000 }, { time: 1 }, 'still going')).toEqual({
      status: 'timeout',
      valid: false,
      reason: "killed after the task's 30s timeout",
    });
  });

  it('a sandbox limit names the limit, believed only for an execution that ended badly', () => {
    const limit = 'memory: 128 MiB reached';
    expect(judgeExecution(t, { outcome: 'failed', exitCode: 137, wallMs: 5, limit }, {}, '')).toEqual({
      status: 'crashed',
      valid: false,
      reason: 'sandbox limit (memory: 128 MiB reached)',
    });
    expect(judgeExecution(t, { outcome: 'timeout', wallMs: 30_000, limit: 'processes: 64' }, {}, '').reason).toBe(
      "sandbox limit (processes: 64), then killed after the task's 30s timeout",
    );
    expect(judgeExecution(t, { ...ok, limit }, { time: 1, answer: 41, loss: 1 }, '').status).toBe('ok');
  });

  it('a crash, with the last log line', () => {
    const tail =
      'Traceback (most recent call last):\n  File "main.py", line 3\nZeroDivisionError: division by zero\n\n';
    expect(judgeExecution(t, { outcome: 'failed', exitCode: 1, wallMs: 5 }, {}, tail)).toEqual({
      status: 'crashed',
      valid: false,
      reason: 'exited with code 1: ZeroDivisionError: division by zero',
    });
    expect(judgeExecution(t, { outcome: 'failed', exitCode: 137, wallMs: 5 }, {}, '')).toEqual({
      status: 'crashed',
      valid: false,
      reason: 'exited with code 137',
    });
    expect(judgeExecution(t, { outcome: 'cancelled', wallMs: 5 }, {}, 'x').reason).toBe('exited with code none: x');
    // a failed run is crashed even when it printed good metrics
    expect(
      judgeExecution(t, { outcome: 'failed', exitCode: 2, wallMs: 5 }, { time: 1, answer: 41, loss: 1 }, '').status,
    ).toBe('crashed');
    // the last line is cut to 300 characters
    const long = judgeExecution(t, { outcome: 'failed', exitCode: 1, wallMs: 5 }, {}, 'E'.repeat(1000));
    expect(long.reason).toBe(`exited with code 1: ${'E'.repeat(300)}`);
  });

  it('a missing selection metric', () => {
    expect(judgeExecution(t, ok, { answer: 41 }, '')).toEqual({
      status: 'buggy',
      valid: false,
      reason: 'the log has no time metric',
    });
  });

  it('a NaN or infinite selection metric', () => {
    expect(judgeExecution(t, ok, { time: NaN, answer: 41, loss: 1 }, '')).toEqual({
      status: 'buggy',
      valid: false,
      reason: 'time is NaN',
    });
    expect(judgeExecution(t, ok, { time: Infinity, answer: 41, loss: 1 }, '').reason).toBe('time is Infinity');
  });

  it('bounds: at_most and at_least, a missing or NaN bounded metric breaks them', () => {
    expect(judgeExecution(t, ok, { time: 1, answer: 43, loss: 1 }, '')).toEqual({
      status: 'buggy',
      valid: false,
      reason: 'answer=43 breaks the bound answer <= 42',
    });
    expect(judgeExecution(t, ok, { time: 1, answer: 39, loss: 1 }, '')).toEqual({
      status: 'buggy',
      valid: false,
      reason: 'answer=39 breaks the bound answer >= 40',
    });
    expect(judgeExecution(t, ok, { time: 1, loss: 1 }, '').reason).toBe('answer=missing breaks the bound answer <= 42');
    expect(judgeExecution(t, ok, { time: 1, answer: 41, loss: -0.5 }, '').reason).toBe(
      'loss=-0.5 breaks the bound loss >= 0',
    );
    expect(judgeExecution(t, ok, { time: 1, answer: 41, loss: NaN }, '').reason).toBe(
      'loss=NaN breaks the bound loss >= 0',
    );
    const speedrun = task({
      metric_parser: 'speedrun',
      selection_metric: 'train_time',
      metrics_at_most: { val_loss: 3.28 },
    });
    expect(judgeExecution(speedrun, ok, { train_time: 1000, val_loss: NaN, step: 10 }, '').reason).toBe(
      'val_loss=NaN breaks the bound val_loss <= 3.28',
    );
    expect(judgeExecution(speedrun, ok, { train_time: 1000, val_loss: 3.29, step: 10 }, '').reason).toBe(
      'val_loss=3.29 breaks the bound val_loss <= 3.28',
    );
  });

  it('a private metric breaking a bound is reported without its name or value', () => {
    expect(judgeExecution(t, ok, { time: 1, answer: 43, loss: 1 }, '', ['answer'])).toEqual({
      status: 'buggy',
      valid: false,
      reason: 'a private metric breaks its bound',
    });
    expect(judgeExecution(t, ok, { time: 1, answer: 41, loss: -1 }, '', ['answer']).reason).toBe(
      'loss=-1 breaks the bound loss >= 0',
    );
  });

  it('ok when every check passes, bounds inclusive', () => {
    expect(judgeExecution(t, ok, { time: 1, answer: 42, loss: 0 }, 'done')).toEqual({ status: 'ok', valid: true });
    expect(judgeExecution(t, ok, { time: 1, answer: 40, loss: 5 }, 'done')).toEqual({ status: 'ok', valid: true });
  });

  it('the harness wall metric can be the selection metric', () => {
    const collatzLike = task({
      selection_metric: HARNESS_WALL_METRIC,
      metrics_at_least: { answer: 41 },
      metrics_at_most: { answer: 41 },
    });
    const metrics = { ...extractMetrics(collatzLike, 'answer: 41\ntime: 0.001\n'), [HARNESS_WALL_METRIC]: 812 };
    expect(judgeExecution(collatzLike, ok, metrics, '')).toEqual({ status: 'ok', valid: true });
    expect(judgeExecution(collatzLike, ok, { answer: 41 }, '').reason).toBe(
      `the log has no ${HARNESS_WALL_METRIC} metric`,
    );
  });
});
