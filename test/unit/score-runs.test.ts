import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { noUsage } from '../../core/usage';
import type { NodeRecord, RunView } from '../../core/types';
import { ArtifactStore } from '../../src/store/artifact-store';
import { loadRunView, recordNode } from '../../src/store/run-view-store';
import { loadStoredRuns } from '../../src/score/load-runs';
import {
  checkScorable,
  offlineRule,
  recordOf,
  scoreRun,
  taskFamily,
  type RunFacts,
  type RunScore,
} from '../../src/score/run-score';
import { ConfigError } from '../../src/config/load';
import { isQuery } from '../../temporal/client/score-targets';

const node = (
  id: number,
  status: NodeRecord['status'],
  metrics: Record<string, number>,
  extra: Partial<NodeRecord> = {},
): NodeRecord => ({
  id,
  parent: id === 0 ? null : 0,
  stage: id === 0 ? 'root' : 'draft',
  iteration: id,
  plan: `plan ${id}`,
  status,
  valid: status === 'ok',
  metrics,
  timings: { started_at: '2026-01-01T00:00:00Z', llm_ms: 0, exec_ms: 0 },
  usage: noUsage(),
  ...extra,
});

const summary = (runId: string): Omit<RunView, 'nodes' | 'updated_at'> => ({
  runId,
  task: 'nanogpt_speedrun/speedrun_record_1',
  model: 'view-model',
  science_runner: 'view-scaffold',
  phase: 'done',
  iteration: 3,
  n_iterations: 3,
  selection_metric: 'train_time',
  lower_is_better: true,
  usage: noUsage(),
});

const records = { metric: 'train_time', baseline: 1_000_000, target: 800_000, excluded_from_scores: false };
const config = {
  task: { id: 'nanogpt_speedrun/speedrun_record_1', records },
  model: { id: 'o3-mini' },
  science_runner: { id: 'aide' },
  hint_level: '1+2' as const,
} as unknown as NonNullable<RunFacts['config']>;

describe('scoreRun', () => {
  // v_1 valid; v_2 faster, val_loss 3.285 and marked buggy for it; v_3 faster still but broke an integrity rule.
  const view: RunView = {
    ...summary('r1'),
    updated_at: '',
    nodes: [
      node(0, 'ok', { val_loss: 3.28, train_time: 990_000 }),
      node(1, 'ok', { val_loss: 3.27, train_time: 950_000 }),
      node(2, 'buggy', { val_loss: 3.285, train_time: 900_000 }),
      node(
        3,
        'ok',
        { val_loss: 3.2, train_time: 850_000 },
        { violations: [{ rule: 'clock.burst', detail: 'step lines in one burst' }] },
      ),
      node(4, 'crashed', {}),
    ],
  };

  it('takes hint level, scaffold and model from the stored config, not the view', () => {
    const s = scoreRun({ view, config }, { target: 3.28, strict: false, offline: false });
    expect(s).toMatchObject({
      hint_level: '1+2',
      hint_level_source: 'config',
      model: 'o3-mini',
      scaffold: 'aide',
      record: 1,
      best_node: 1,
      valid_versions: 1,
    });
    expect(s.fsr).toBeCloseTo(0.25, 12);
    expect(s.violations).toEqual(['v_3: clock.burst: step lines in one burst']);
  });

  it('--target 3.29 --strict still drops the version marked buggy; the offline rule counts every version with metrics', () => {
    expect(scoreRun({ view, config }, { target: 3.29, strict: true, offline: false }).best_node).toBe(1);
    const offline = scoreRun({ view, config }, offlineRule());
    expect(offline).toMatchObject({ best_node: 3, valid_versions: 3 });
    expect(offline.fsr).toBeCloseTo(0.75, 12);
  });

  it('falls back to the view and says the hint level is assumed when no config was stored', () => {
    const s = scoreRun({ view, task: { records } as never }, { target: 3.28, strict: false, offline: false });
    expect(s).toMatchObject({
      hint_level: '0',
      hint_level_source: 'assumed',
      model: 'view-model',
      scaffold: 'view-scaffold',
    });
    expect(
      scoreRun({ view, task: { records } as never, temporalHintLevel: '2' }, offlineRule()).hint_level_source,
    ).toBe('temporal');
  });

  it('gives an error, not a score, for a task without records', () => {
    const s = scoreRun({ view, task: { id: 'collatz' } as never }, offlineRule());
    expect(s.fsr).toBeNull();
    expect(s.error).toMatch(/has no human records/);
    expect(scoreRun({ view }, offlineRule()).error).toMatch(/not available here and the run stored no config/);
  });
});

describe('stored configs of runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'score-runs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('recordNode keeps the configRef it was given, also on later calls without one', async () => {
    const store = new ArtifactStore(join(dir, 'store'));
    const ref = await store.putJson(config);
    await recordNode(store, join(dir, 'ws'), summary('r2'), node(0, 'ok', {}), ref);
    await recordNode(store, join(dir, 'ws'), summary('r2'), node(1, 'ok', { val_loss: 3.2, train_time: 900_000 }));
    expect((await loadRunView(store, 'r2'))?.configRef).toBe(ref);

    const [r2, none] = await loadStoredRuns([
      { runId: 'r2', stores: [join(dir, 'other'), join(dir, 'store')] },
      { runId: 'nope', stores: [join(dir, 'store')] },
    ]);
    expect(r2?.config).toEqual(config);
    expect(r2?.view.nodes).toHaveLength(2);
    expect(none).toBeUndefined();
  });
});

describe('checkScorable', () => {
  const scored = (runId: string, task: string, error?: string) =>
    ({ runId, task, ...(error ? { error } : {}) }) as RunScore;

  it('accepts runs of one task family, across records', () => {
    expect(() =>
      checkScorable([
        scored('a', 'nanogpt_speedrun/speedrun_record_1'),
        scored('b', 'nanogpt_speedrun/speedrun_record_7'),
      ]),
    ).not.toThrow();
  });

  it('refuses runs without records and mixed task families with a ConfigError (exit 2)', () => {
    const noRecords = () =>
      checkScorable([
        scored('a', 'nanogpt_speedrun/speedrun_record_1'),
        scored('c', 'collatz', 'task collatz has no human records'),
      ]);
    expect(noRecords).toThrow(ConfigError);
    expect(noRecords).toThrow(/cannot score c \(task collatz has no human records\)/);
    const mixed = () =>
      checkScorable([
        scored('a', 'nanogpt_speedrun/speedrun_record_1'),
        scored('b', 'nanogpt_speedrun/speedrun_record_2'),
        scored('m', 'modded/speedrun_record_1'),
      ]);
    expect(mixed).toThrow(ConfigError);
    expect(mixed).toThrow(
      /different tasks cannot be scored together: nanogpt_speedrun \(2 runs, e\.g\. a\), modded \(1 run, e\.g\. m\)/,
    );
  });
});

describe('helpers', () => {
  it('reads record numbers and task families from task ids', () => {
    expect(recordOf('nanogpt_speedrun/speedrun_record_12')).toBe(12);
    expect(recordOf('collatz')).toBeNull();
    expect(taskFamily('nanogpt_speedrun/speedrun_record_12')).toBe('nanogpt_speedrun');
    expect(taskFamily('collatz')).toBe('collatz');
  });

  it('tells visibility queries from ids', () => {
    expect(isQuery('Model="o3-mini" AND HintLevel="1"')).toBe(true);
    expect(isQuery("Task='collatz'")).toBe(true);
    expect(isQuery('run-20260101-abc')).toBe(false);
    expect(isQuery('sweep-abc/nanogpt_speedrun-speedrun_record_3.o3-mini.aide.h1_2.s0#2')).toBe(false);
  });
});
