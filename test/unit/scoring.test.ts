import { describe, it, expect } from 'vitest';
import { OFFLINE_VALIDITY, fsrFromTimes, isValidLoss, runFsr } from '../../core/fsr';
import { randomStream as mulberry32 } from '../../core/random';
import { aggregateScores, type ScoreRow } from '../../src/score/aggregate';
import { bootstrapCI, iqm, mean, median } from '../../src/score/statistics';

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
  const run = (versions: { val_loss?: number; train_time?: number }[]) => ({ baselineMs: 1000, targetMs: 800, versions });

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

  it('gives deterministic bootstrap intervals around the estimate', () => {
    const data = [[0.1, 0.4, 0.35, 0.8, 0.05, 0.6, 0.3, 0.9, 0.2, 0.45]];
    const ci = bootstrapCI(data, mean, { seed: 7 });
    expect(bootstrapCI(data, mean, { seed: 7 })).toEqual(ci);
    expect(ci.value).toBeCloseTo(0.415, 12);
    expect(ci.lo).toBeLessThan(ci.value);
    expect(ci.hi).toBeGreaterThan(ci.value);
    expect(ci.lo).toBeGreaterThan(0.05);
    expect(ci.hi).toBeLessThan(0.9);
  });

  it('resamples within strata: each task keeps its weight', () => {
    const strata = [
      [0, 0, 0],
      [1, 1, 1],
    ];
    expect(bootstrapCI(strata, mean, { seed: 1 })).toEqual({ value: 0.5, lo: 0.5, hi: 0.5 });
    const flat = bootstrapCI([strata.flat()], mean, { seed: 1 });
    expect(flat.hi - flat.lo).toBeGreaterThan(0.1);
  });
});

describe('aggregateScores', () => {
  const cfg = { model: 'm1', scaffold: 'aide', hint_level: '1' };
  const rows: ScoreRow[] = [
    ...[0.5, 0.1, 0.9, 0.3, 5.0].map((fsr) => ({ ...cfg, record: 1, fsr })), // 5.0 is out of range -> 0
    ...[-0.2, 0.4].map((fsr) => ({ ...cfg, record: 2, fsr })), // -0.2 -> 0
    { ...cfg, record: 6, fsr: 0.9, excluded: true },
    ...[0.2, 0.2].map((fsr) => ({ model: 'm1', scaffold: 'bon', hint_level: '1', record: 1, fsr })),
    ...[1, 1, 1, 1].map((fsr) => ({ model: 'm2', scaffold: 'aide', hint_level: '1', record: 1, fsr })),
  ];

  it('keeps the top 3 per configuration and record after zeroing out-of-range values', () => {
    const groups = aggregateScores(rows, { resamples: 200 });
    expect(groups.map((g) => g.key)).toEqual([
      { hint_level: '1', scaffold: 'aide', model: 'm1' },
      { hint_level: '1', scaffold: 'aide', model: 'm2' },
      { hint_level: '1', scaffold: 'bon', model: 'm1' },
    ]);
    const g = groups[0];
    expect(g.values).toEqual({ '1': [0.9, 0.5, 0.3], '2': [0.4, 0] });
    expect(g.records).toEqual(['1', '2']);
    expect(g.n).toBe(5);
    expect(g.mean.value).toBeCloseTo(2.1 / 5, 12);
    expect(g.median.value).toBeCloseTo(0.4, 12);
    expect(g.iqm.value).toBeCloseTo(0.4, 12); // sorted [0, .3, .4, .5, .9] -> middle three
    expect(groups[1].values).toEqual({ '1': [1, 1, 1] });
    expect(groups[1].mean).toEqual({ value: 1, lo: 1, hi: 1 });
  });

  it('pools configurations when grouping by fewer keys', () => {
    const groups = aggregateScores(rows, { groupBy: ['model'], resamples: 200 });
    expect(groups.map((g) => g.key.model)).toEqual(['m1', 'm2']);
    // record 1 pools aide's top 3 and bon's two runs
    expect(groups[0].values['1']).toEqual([0.9, 0.5, 0.3, 0.2, 0.2]);
    expect(groups[0].n).toBe(7);
  });

  it('is deterministic for a seed', () => {
    expect(aggregateScores(rows, { seed: 3, resamples: 300 })).toEqual(aggregateScores(rows, { seed: 3, resamples: 300 }));
  });
});
