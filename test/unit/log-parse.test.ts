import { describe, it, expect } from 'vitest';
import { parseSpeedrunLog, speedrunMetrics, progressFromLine } from '../../src/speedrun/log-parse';

// A log as the speedrun scripts write it: the source code first, then the run's own lines.
const SOURCE_COPY = [
  'import os',
  'def main():',
  '    for step in range(train_steps + 1):',
  '        if last_step or (val_loss_every > 0 and step % val_loss_every == 0):',
  '            print0(f"step:{step}/{train_steps} val_loss:{val_loss:.4f} train_time:{training_time_ms:.0f}ms step_avg:{training_time_ms/(timed_steps-1):.2f}ms")',
  'step:{step}/{train_steps} val_loss:{val_loss:.4f} train_time:{t:.0f}ms',
  '# step:99/100 val_loss:1.0000 train_time:1ms  (a comment, not a log line)',
  '    step:98/100 val_loss:1.0000 train_time:1ms',
  '='.repeat(10),
].join('\n');

const RUN = [
  'Running pytorch 2.7.1',
  'step:0/5100 val_loss:10.8258 train_time:0ms step_avg:nanms',
  'step:1/5100 train_time:25012ms step_avg:nanms',
  'step:10/5100 train_loss:5.12 train_time:1234ms step_avg:123.4ms',
  'step:125/5100 val_loss:4.1234 train_time:61234ms step_avg:489.9ms',
  'step:250/5100 val_loss:3.9001 train_time:122001ms',
  'step:5100/5100 val_loss:3.2791 train_time:2968348ms step_avg:582.15ms',
  'peak memory consumption: 30000 MiB',
].join('\n');

describe('parseSpeedrunLog', () => {
  it('ignores the source copy and reads only lines that start with step:N/M', () => {
    const parsed = parseSpeedrunLog(`${SOURCE_COPY}\n${RUN}\n`);
    expect(parsed.validations.map((v) => v.step)).toEqual([0, 125, 250, 5100]);
    expect(parsed.lastStep).toEqual({ step: 5100, totalSteps: 5100 });
  });

  it('reads values, makes step_avg optional and turns nan into NaN', () => {
    const { validations } = parseSpeedrunLog(RUN);
    expect(validations[0]).toEqual({ step: 0, totalSteps: 5100, valLoss: 10.8258, trainTimeMs: 0, stepAvgMs: NaN });
    expect(validations[1]).toEqual({
      step: 125,
      totalSteps: 5100,
      valLoss: 4.1234,
      trainTimeMs: 61234,
      stepAvgMs: 489.9,
    });
    expect(validations[2]).toEqual({ step: 250, totalSteps: 5100, valLoss: 3.9001, trainTimeMs: 122001 });
    expect('stepAvgMs' in validations[2]).toBe(false);
  });

  it('reports training lines as progress only', () => {
    const parsed = parseSpeedrunLog(
      'step:0/100 val_loss:9.0 train_time:0ms\nstep:10/100 train_loss:5.12 train_time:1234ms step_avg:123.4ms\n',
    );
    expect(parsed.validations).toHaveLength(1);
    expect(parsed.lastStep).toEqual({ step: 10, totalSteps: 100 });
  });

  it('handles CRLF line ends and a log with no step lines', () => {
    expect(parseSpeedrunLog('step:3/9 val_loss:7.5 train_time:12ms\r\n').validations[0].trainTimeMs).toBe(12);
    expect(parseSpeedrunLog('hello\nworld')).toEqual({ validations: [] });
  });

  it('does not trust a validation line cut off mid-write', () => {
    const parsed = parseSpeedrunLog('step:5/9 val_loss:4.0 train_time:10ms\nstep:9/9 val_loss:3.2');
    expect(parsed.validations.map((v) => v.step)).toEqual([5]);
    expect(parsed.lastStep).toEqual({ step: 9, totalSteps: 9 });
  });
});

describe('speedrunMetrics', () => {
  it('takes step, val_loss and train_time from the last validation line', () => {
    expect(speedrunMetrics(`${SOURCE_COPY}\n${RUN}`)).toEqual({ step: 5100, val_loss: 3.2791, train_time: 2968348 });
  });

  it('keeps a diverged run NaN so a val_loss bound rejects it', () => {
    const m = speedrunMetrics('step:100/100 val_loss:nan train_time:5000ms step_avg:50.0ms');
    expect(Number.isNaN(m.val_loss)).toBe(true);
    expect(m.val_loss <= 3.28).toBe(false);
    expect(m.train_time).toBe(5000);
  });

  it('is empty without validation lines, even when the source copy has the format', () => {
    expect(speedrunMetrics(SOURCE_COPY)).toEqual({});
  });
});

describe('progressFromLine', () => {
  it('reads step and total from either kind of step line', () => {
    expect(progressFromLine('step:10/5100 train_loss:5.12 train_time:1234ms step_avg:123.4ms')).toEqual({
      step: 10,
      totalSteps: 5100,
    });
    expect(progressFromLine('step:125/5100 val_loss:4.1234 train_time:61234ms')).toEqual({
      step: 125,
      totalSteps: 5100,
    });
  });

  it('ignores everything else', () => {
    expect(progressFromLine('print0(f"step:{step}/{n} val_loss:{v:.4f}")')).toBeUndefined();
    expect(progressFromLine('  step:1/2 train_time:1ms')).toBeUndefined();
    expect(progressFromLine('step:{step}/{train_steps}')).toBeUndefined();
    expect(progressFromLine('step:12/')).toBeUndefined();
  });
});
