import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load';
import { cellName, expandMatrix, loadSweepFile, overrideStrings, parseSweepSpec } from '../../src/sweep/spec';
import {
  cellRunId,
  cellsToRetry,
  outcomesForRestart,
  progressView,
  queueRetry,
  type CellOutcome,
  type SweepInput,
} from '../../core/sweep-state';

describe('sweep matrix', () => {
  it('expands every combination in axis order, the seed varying fastest, matrix values after shared overrides', () => {
    const spec = parseSweepSpec({
      matrix: { seed: [1, 2], task: 'collatz', science_runner: ['aide', 'bon'], hint_level: ['0', '1+2'] },
      overrides: ['n_iterations=3', 'seed=9'],
    });
    const cells = expandMatrix(spec);
    expect(cells).toHaveLength(8);
    expect(cells.map((c) => [c.values.science_runner, c.values.hint_level, c.values.seed])).toEqual([
      ['aide', '0', 1],
      ['aide', '0', 2],
      ['aide', '1+2', 1],
      ['aide', '1+2', 2],
      ['bon', '0', 1],
      ['bon', '0', 2],
      ['bon', '1+2', 1],
      ['bon', '1+2', 2],
    ]);
    expect(cells[0].overrides).toEqual([
      'n_iterations=3',
      'seed=9',
      'task=collatz',
      'science_runner=aide',
      'hint_level=0',
      'seed=1',
    ]);
    expect(cells[0].values).not.toHaveProperty('model'); // left out: the config default applies
  });

  it('takes overrides as a nested mapping, flattened to dotted keys (lists kept whole)', () => {
    expect(
      overrideStrings({
        n_iterations: 2,
        task: { timeout_s: 60, args: ['--a', 'b'] },
        model: { base_url: 'http://x:1/v1' },
      }),
    ).toEqual(['n_iterations=2', 'task.timeout_s=60', 'task.args=["--a","b"]', 'model.base_url=http://x:1/v1']);
  });

  it('names cells after their resolved settings, safe in workflow ids and paths', () => {
    expect(cellName({ task: 'collatz', model: 'scripted', science_runner: 'aide', hint_level: '0', seed: 1 })).toBe(
      'collatz.scripted.aide.h0.s1',
    );
    expect(
      cellName({ task: 'nanogpt/record 3', model: 'gpt-5', science_runner: 'bon', hint_level: '1+2+3', seed: 12 }),
    ).toBe('nanogpt-record-3.gpt-5.bon.h1_2_3.s12');
    expect(cellRunId('sw', 'a.b', 1)).toBe('sw/a.b');
    expect(cellRunId('sw', 'a.b', 3)).toBe('sw/a.b#3');
  });

  it('rejects a malformed sweep file with the valid keys; the default id follows the content', () => {
    expect(() => parseSweepSpec({ matrix: { tasks: ['x'] } })).toThrow(ConfigError);
    expect(() => parseSweepSpec({ matrix: {}, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => parseSweepSpec({ matrix: { seed: [] } })).toThrow(/matrix\.seed/);
    const dir = mkdtempSync(join(tmpdir(), 'sweep-spec-'));
    const f = join(dir, 'my sweep.yaml');
    writeFileSync(f, 'matrix: { seed: [1, 2] }\n');
    const a = loadSweepFile(f).id;
    expect(a).toMatch(/^sweep-my-sweep-[0-9a-f]{8}$/);
    writeFileSync(f, 'matrix: { seed: [1, 2, 3] }\n');
    expect(loadSweepFile(f).id).not.toBe(a);
    writeFileSync(f, 'id: fixed-1\nmatrix: { seed: 1 }\n');
    expect(loadSweepFile(f).id).toBe('fixed-1');
    writeFileSync(f, 'matrix: [1\n');
    expect(() => loadSweepFile(f)).toThrow(/malformed YAML/);
  });
});

describe('sweep state', () => {
  const input: SweepInput = {
    store: '/s',
    taskQueue: 'q',
    concurrency: 2,
    continueAsNewEvery: 10,
    cells: ['a', 'b', 'c', 'd'].map((n) => [n, n.repeat(64)]),
  };
  const outcomes = (): CellOutcome[] => [
    { status: 'completed', attempt: 1, cost_usd: 0.5, gpu_seconds: 2 },
    { status: 'failed', attempt: 1, error: 'boom' },
    { status: 'running', attempt: 2 },
    { status: 'pending', attempt: 1 },
  ];

  it('answers progress in bounded pages with counts and totals', () => {
    const p = progressView('sw', input, outcomes(), { limit: 2 });
    expect(p.counts).toEqual({ pending: 1, running: 1, completed: 1, failed: 1 });
    expect(p.cost_usd).toBe(0.5);
    expect(p.cells.map((c) => c.cell)).toEqual(['a', 'b']);
    expect(p.next_offset).toBe(2);
    expect(progressView('sw', input, outcomes(), { offset: 2, limit: 2 }).next_offset).toBeUndefined();
    expect(progressView('sw', input, outcomes(), { status: 'failed' }).cells).toEqual([
      { cell: 'b', status: 'failed', attempt: 1, error: 'boom' },
    ]);
    expect(progressView('sw', input, outcomes(), { limit: 1e9 }).cells).toHaveLength(4); // capped, not unbounded
  });

  it('retries only finished cells, with a fresh attempt', () => {
    const o = outcomes();
    expect(cellsToRetry(['a', 'b', 'c', 'd'], o, { failed: true })).toEqual([1]);
    expect(cellsToRetry(['a', 'b', 'c', 'd'], o, { cells: ['a'], failed: true })).toEqual([0, 1]);
    expect(() => cellsToRetry(['a', 'b', 'c', 'd'], o, { cells: ['c'] })).toThrow(/running/);
    expect(() => cellsToRetry(['a', 'b', 'c', 'd'], o, { cells: ['zz'] })).toThrow(/no cell 'zz'/);
    expect(() => cellsToRetry(['a', 'b', 'c', 'd'], o, {})).toThrow(/--failed/);
    queueRetry(o, [1]);
    expect(o[1]).toEqual({ status: 'pending', attempt: 2 });
    expect(outcomesForRestart(o)[2]).toEqual({ status: 'pending', attempt: 3 });
  });
});
