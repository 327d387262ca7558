import { describe, it, expect } from 'vitest';
import { OFFLINE_VALIDITY, fsrFromTimes, isValidLoss, runFsr } from '../../core/fsr';
import { randomStream as mulberry32 } from '../../core/random';
import { iqm, mean, median } from '../../src/score/statistics';

describe('validity', () => {
  it('uses val_loss <= 3.28 by default and < target when strict', () => {
    expect(isValidLoss(3.28)).toBe(true);
    expect(isValidLoss(3.2801)).toBe(false);
    expect(isValidLoss(3.285, OFFLINE_VALIDITY)).toBe(true);
    expect(isValidLoss(3.29, OFFLINE_VALIDITY)).toBe(false);
    expect(isValidLoss(NaN)).toBe(false);
    expect(isValidLoss(undefined)).toBe(false);
  });
});

describe('runFsr', () => {
  const run = (versions: { val_loss?: number; train_time?: number }[]) => ({
    baselineMs: 1000,
    targetMs: 800,
    versions,
  });

  it('takes the fastest valid version: (1000 - 850) / (1000 - 800) = 0.75', () => {
    const r = runFsr(
      run([
        { val_loss: 3.27, train_time: 900 },
        { val_loss: 3.3, train_time: 500 }, // too high a loss
        { val_loss: NaN, train_time: 400 }, // diverged
        { val_loss: 3.28, train_time: 850 },
        { val_loss: 3.2, train_time: NaN },
      ]),
    );
    expect(r).toEqual({ fsr: 0.75, tAgentMs: 850, bestIndex: 3, validCount: 2 });
  });

  it('counts the root, so a run with only slower versions scores 0, not less', () => {
    expect(runFsr(run([{ val_loss: 3.2, train_time: 1500 }]))).toEqual({ fsr: 0, tAgentMs: 1000, validCount: 1 });
    expect(runFsr(run([])).fsr).toBe(0);
  });

  it('exceeds 1 when the agent beats the next record', () => {
    expect(runFsr(run([{ val_loss: 3.1, train_time: 700 }])).fsr).toBeCloseTo(1.5, 12);
  });

  it('applies the strict offline rule when asked', () => {
    const versions = [{ val_loss: 3.285, train_time: 900 }];
    expect(runFsr(run(versions)).fsr).toBe(0);
    expect(runFsr(run(versions), OFFLINE_VALIDITY).fsr).toBeCloseTo(0.5, 12);
  });

  it('can ignore implausibly fast times', () => {
    const versions = [
      { val_loss: 3.2, train_time: 300 },
      { val_loss: 3.2, train_time: 950 },
    ];
    expect(runFsr(run(versions)).tAgentMs).toBe(300);
    expect(runFsr(run(versions), { minPlausibleFraction: 0.4 }).tAgentMs).toBe(950);
  });

  it('scores 0 on a non-positive gap (record 6 -> 7 got slower)', () => {
    expect(fsrFromTimes(766259, 773072, 500000)).toBe(0);
    expect(fsrFromTimes(1000, 1000, 10)).toBe(0);
    expect(runFsr({ baselineMs: 766259, targetMs: 773072, versions: [{ val_loss: 3.2, train_time: 1 }] }).fsr).toBe(0);
  });
});

describe('statistics', () => {
  it('computes mean, median and scipy-style IQM', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(iqm([1, 2, 3, 4, 5, 6, 7, 8])).toBe(4.5); // keeps 3..6
    expect(iqm([100, 1, 2, 3, 4])).toBe(3); // n=5: cuts one each end
    expect(iqm([1, 2, 3, 4, 5, 6, 7, 100, 200, 300])).toBeCloseTo(125 / 6, 12); // n=10: cuts 2 each end
    expect(iqm([5, 1, 3])).toBe(3); // n=3: floor(0.75) = 0, nothing cut
    expect(Number.isNaN(iqm([]))).toBe(true);
  });

  it('draws the same numbers for the same seed', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(mulberry32(43)()).not.toBe(xs[0]);
  });
});
