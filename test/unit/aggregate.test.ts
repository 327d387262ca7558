import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregateScores, topValues, type GroupScore, type ScoreRow } from '../../src/score/aggregate';
import { stratifiedBootstrap, std } from '../../src/score/statistics';
import { nextRandom, randomStream } from '../../core/random';

const fixtures = join(__dirname, '..', 'fixtures', 'scores');
const table = JSON.parse(readFileSync(join(fixtures, 'runs.json'), 'utf8')) as { runs: (ScoreRow & { run: string })[] };
interface Expected {
  key: Record<string, string>;
  rows: number;
  rank_means: number[];
  fsr_bar: number;
  sem: number;
  median: ExpectedEstimate;
  iqm: ExpectedEstimate;
  mean: ExpectedEstimate;
  optimality_gap: ExpectedEstimate;
}
interface ExpectedEstimate {
  value: number;
  lo: number;
  hi: number;
  seed_spread: number;
}
const expected = JSON.parse(readFileSync(join(fixtures, 'expected-rliable.json'), 'utf8')) as { groups: Expected[] };

describe('topValues (the notebooks’ top 3 per configuration and record)', () => {
  it('zeroes values outside [0, 3] before ranking and pads with the smallest kept value', () => {
    expect(topValues([0.5, 0.1, 0.9, 0.3, 5.0])).toEqual([0.9, 0.5, 0.3]);
    expect(topValues([-0.2, 0.4])).toEqual([0.4, 0, 0]);
    expect(topValues([0.7])).toEqual([0.7, 0.7, 0.7]);
    expect(topValues([3, 3.0001, NaN])).toEqual([3, 0, 0]);
    expect(topValues([])).toEqual([0, 0, 0]);
  });
});

describe('stratifiedBootstrap', () => {
  it('computes rliable’s four aggregates of a records × ranks matrix', () => {
    // rows = records, columns = ranks
    const columns = [
      [0.9, 0.4, 2.0, 0],
      [0.5, 0.4, 1.0, 0],
      [0.3, 0.0, 1.0, 0],
    ];
    const e = stratifiedBootstrap(columns, { resamples: 0 });
    const colMeans = [3.3 / 4, 1.9 / 4, 1.3 / 4];
    expect(e.mean.value).toBeCloseTo((colMeans[0] + colMeans[1] + colMeans[2]) / 3, 12);
    expect(e.median.value).toBeCloseTo(1.9 / 4, 12);
    // 12 values sorted: 0 0 0 0 .3 .4 .4 .5 .9 1 1 2 -> drop 3 each end, mean of the middle 6
    expect(e.iqm.value).toBeCloseTo((0 + 0.3 + 0.4 + 0.4 + 0.5 + 0.9) / 6, 12);
    // min(x, 1) caps the 2.0
    expect(e.optimality_gap.value).toBeCloseTo(1 - (0.9 + 0.4 + 1 + 0.5 + 0.4 + 1 + 0.3 + 1) / 12, 12);
  });

  it('resamples rows within each column: a column whose rows agree has no spread', () => {
    const constant = stratifiedBootstrap(
      [
        [0.5, 0.5, 0.5],
        [0.2, 0.2, 0.2],
        [0.1, 0.1, 0.1],
      ],
      { resamples: 500 },
    );
    expect(constant.mean).toEqual({
      value: expect.closeTo(0.8 / 3, 12),
      lo: expect.closeTo(0.8 / 3, 12),
      hi: expect.closeTo(0.8 / 3, 12),
    });
    const varied = stratifiedBootstrap(
      [
        [0, 1, 0, 1],
        [0, 1, 0, 1],
        [0, 1, 0, 1],
      ],
      { resamples: 2000, seed: 3 },
    );
    expect(varied.mean.lo).toBeLessThan(0.5);
    expect(varied.mean.hi).toBeGreaterThan(0.5);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const cols = [
      [0.1, 0.4, 0.35, 0.8, 0.05],
      [0.6, 0.3, 0.9, 0.2, 0.45],
      [0.2, 0.2, 0.1, 0.0, 0.3],
    ];
    expect(stratifiedBootstrap(cols, { seed: 7, resamples: 1000 })).toEqual(
      stratifiedBootstrap(cols, { seed: 7, resamples: 1000 }),
    );
    expect(stratifiedBootstrap(cols, { seed: 8, resamples: 1000 }).iqm.lo).not.toBe(
      stratifiedBootstrap(cols, { seed: 7, resamples: 1000 }).iqm.lo,
    );
  });
});

describe('aggregateScores', () => {
  const cfg = { model: 'm1', scaffold: 'aide', hint_level: '1' };
  const rows: ScoreRow[] = [
    ...[0.5, 0.1, 0.9, 0.3, 5.0].map((fsr) => ({ ...cfg, record: 1, fsr })),
    ...[-0.2, 0.4].map((fsr) => ({ ...cfg, record: 2, fsr })),
    { ...cfg, record: 6, fsr: 0.9, excluded: true },
    ...[0.2, 0.2].map((fsr) => ({ model: 'm1', scaffold: 'bon', hint_level: '1', record: 1, fsr })),
  ];

  it('builds one records × ranks matrix per configuration, FSR-bar and SEM from the rank means', () => {
    const [aide, bon] = aggregateScores(rows, { resamples: 100 });
    expect(aide.key).toEqual({ hint_level: '1', scaffold: 'aide', model: 'm1' });
    expect(aide.values).toEqual({ '1': [0.9, 0.5, 0.3], '2': [0.4, 0, 0] });
    expect(aide.rows).toBe(2);
    expect(aide.runs).toBe(7);
    expect(aide.padded).toBe(1);
    expect(aide.rank_means.map((v) => +v.toFixed(12))).toEqual([0.65, 0.25, 0.15]);
    expect(aide.fsr_bar).toBeCloseTo(1.05 / 3, 12);
    expect(aide.sem).toBeCloseTo(std([0.65, 0.25, 0.15]) / Math.sqrt(2), 12);
    expect(aide.median.value).toBeCloseTo(0.25, 12);
    expect(bon.values).toEqual({ '1': [0.2, 0.2, 0.2] });
  });

  it('pools configurations by stacking their rows', () => {
    const [pooled] = aggregateScores(rows, { groupBy: ['model'], resamples: 100 });
    expect(pooled.key).toEqual({ model: 'm1' });
    expect(pooled.configs).toBe(2);
    expect(pooled.rows).toBe(3);
    expect(pooled.values['1']).toEqual([0.9, 0.5, 0.3, 0.2, 0.2, 0.2]);
  });
});

describe('the checked-in table against Python rliable', () => {
  const rows = table.runs;
  const groupings: Record<string, string[] | undefined> = {
    config: undefined,
    hint: ['hint_level'],
    scaffold: ['scaffold'],
    model: ['model'],
  };
  const ours: GroupScore[] = Object.values(groupings).flatMap((groupBy) => aggregateScores(rows, { groupBy, seed: 0 }));
  const find = (key: Record<string, string>) => ours.find((g) => JSON.stringify(g.key) === JSON.stringify(key));

  it('has the same groups (19 records per full configuration; at least 4 configurations)', () => {
    expect(expected.groups.length).toBe(ours.length);
    expect(ours.filter((g) => g.configs === 1).length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...ours.map((g) => g.records.length))).toBe(19);
    for (const e of expected.groups) expect(find(e.key)?.rows).toBe(e.rows);
  });

  it('matches rliable’s point estimates, FSR-bar and SEM to 3 decimals', () => {
    for (const e of expected.groups) {
      const g = find(e.key)!;
      const at = JSON.stringify(e.key);
      g.rank_means.forEach((v, i) => expect(v, at).toBeCloseTo(e.rank_means[i], 3));
      expect(g.fsr_bar, at).toBeCloseTo(e.fsr_bar, 3);
      expect(g.sem, at).toBeCloseTo(e.sem, 3);
      for (const name of ['median', 'iqm', 'mean', 'optimality_gap'] as const)
        expect(g[name].value, `${at} ${name}`).toBeCloseTo(e[name].value, 3);
    }
  });

  // Our bootstrap draws from mulberry32, rliable's from numpy's global RNG: bounds agree up to the
  // Monte Carlo noise of 50,000 resamples, which the fixture measures (seed_spread: range of a bound
  // over 5 numpy seeds, at most 0.0018 here). 0.005 is about three times that; ours differ by < 0.001.
  it('matches rliable’s 95% stratified-bootstrap intervals within 0.005', () => {
    for (const e of expected.groups) {
      const g = find(e.key)!;
      for (const name of ['median', 'iqm', 'mean', 'optimality_gap'] as const) {
        expect(e[name].seed_spread).toBeLessThan(0.0025);
        expect(Math.abs(g[name].lo - e[name].lo), `${JSON.stringify(e.key)} ${name} lo`).toBeLessThan(0.005);
        expect(Math.abs(g[name].hi - e[name].hi), `${JSON.stringify(e.key)} ${name} hi`).toBeLessThan(0.005);
      }
    }
  });
});

describe('randomStream', () => {
  it('draws what nextRandom steps through (the bootstrap’s inlined stream is the one PRNG)', () => {
    const stream = randomStream(12345);
    let state = 12345;
    for (let i = 0; i < 1000; i++) {
      const [r, next] = nextRandom(state);
      state = next;
      expect(stream()).toBe(r);
    }
  });
});
