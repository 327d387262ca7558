import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { noUsage } from '../../core/usage';
import { ROOT } from '../../src/paths';
import { recordNode } from '../../src/store/run-view-store';
import type { NodeRecord, RunView } from '../../core/types';
import { ArtifactStore } from '../../src/store/artifact-store';
import { cli, makeEnv, tinyShardOverrides } from '../helpers/harness';

// `tasks import` and `score` through the CLI, in a throw-away home. The reference checkout is the
// made-up fixture (records 1..4: tasks 1..3, baselines 3100000 / 2250000 / 1400000 ms).
const REF = join(ROOT, 'test', 'fixtures', 'reference-speedrunner');
const IDS = [1, 2, 3].map((r) => `nanogpt_speedrun/speedrun_record_${r}`);
/** A home of its own, without the fixture tasks (one of them is deliberately broken YAML, which `tasks list` refuses). */
const env = () => makeEnv(inject('temporalPort'), { SPEEDRUNNER_TASK_PATH: '' });

describe('speedrunner tasks import', () => {
  const t = env();

  it('imports the reference tasks, which then list and show', async () => {
    const res = await cli(t, ['tasks', 'import', REF]);
    expect(res.exitCode, res.stderr).toBe(0);
    for (const id of IDS)
      expect(res.stdout).toMatch(new RegExp(`^created\\s+${id}  \\(baseline \\d+ ms → target \\d+ ms\\)`, 'm'));
    expect(res.stdout).toContain(
      `3 created, 0 updated, 0 unchanged, 0 failed; written under ${join(t.home, 'imported')}`,
    );

    const list = await cli(t, ['tasks', 'list', '--json']);
    expect(list.exitCode, list.stderr).toBe(0);
    const ids = JSON.parse(list.stdout).map((x: { id: string }) => x.id);
    expect(ids).toEqual(expect.arrayContaining(['nanogpt_baseline', ...IDS]));
    const show = JSON.parse((await cli(t, ['tasks', 'show', IDS[0]])).stdout);
    expect(show).toMatchObject({
      records: { baseline: 3100000, target: 2250000, excluded_from_scores: false },
      root: join(t.home, 'imported'),
    });
  });

  it('reports unchanged tasks on a second import', async () => {
    const res = await cli(t, ['tasks', 'import', REF, '--json']);
    expect(res.exitCode, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout);
    expect(s.counts).toEqual({ created: 0, unchanged: 3, updated: 0, failed: 0 });
    expect(s.tasks.map((x: { status: string }) => x.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
  });

  it.each([
    ['/nonexistent/llm-speedrunner', /is not an llm-speedrunner checkout: no such directory/],
    [
      join(ROOT, 'test', 'fixtures', 'tasks'),
      /is not an llm-speedrunner checkout: missing config\/task\/nanogpt_speedrun\//,
    ],
  ])('refuses %s with exit code 2 and says what is missing', async (path, message) => {
    const res = await cli(t, ['tasks', 'import', path]);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr).toMatch(/Clone https:\/\/github\.com\/facebookresearch\/llm-speedrunner/);
  });

  it('imports what it can and exits 1 when a task fails', async () => {
    const ref = mkdtempSync(join(tmpdir(), 'ref-broken-'));
    try {
      cpSync(REF, ref, { recursive: true });
      rmSync(join(ref, 'workspace_templates', 'nanogpt_speedrun', 'record_4', 'results.json'));
      const u = env();
      const res = await cli(u, ['tasks', 'import', ref]);
      expect(res.exitCode).toBe(1);
      expect(res.stdout).toMatch(/^FAILED\s+nanogpt_speedrun\/speedrun_record_3: missing .*record_4\/results\.json/m);
      expect(res.stdout).toContain('2 created, 0 updated, 0 unchanged, 1 failed');
    } finally {
      rmSync(ref, { recursive: true, force: true });
    }
  });
});

describe('speedrunner score', () => {
  const t = env();

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
    timings: { started_at: '2025-01-01T00:00:00Z', llm_ms: 0, exec_ms: 0 },
    usage: noUsage(),
    ...extra,
  });
  /** Writes a finished run's view into the home's store, as the workflow would (with its stored config when given). */
  async function fakeRun(runId: string, task: string, model: string, nodes: NodeRecord[], config?: object) {
    const store = new ArtifactStore(join(t.home, 'store'));
    const summary: Omit<RunView, 'nodes' | 'updated_at'> = {
      runId,
      task,
      model,
      science_runner: 'aide',
      phase: 'done',
      iteration: nodes.length - 1,
      n_iterations: nodes.length - 1,
      selection_metric: 'train_time',
      lower_is_better: true,
      usage: noUsage(),
    };
    const configRef = config ? await store.putJson(config) : undefined;
    for (const n of nodes) await recordNode(store, join(t.home, 'workspaces'), summary, n, configRef);
  }

  beforeAll(async () => {
    expect((await cli(t, ['tasks', 'import', REF])).exitCode).toBe(0);
    // record 1: 3100000 → 2250000 ms. v_1 valid and faster; v_2 faster still but val_loss 3.285 (so marked buggy); v_3 crashed before validating.
    await fakeRun('run-a', IDS[0], 'm1', [
      node(0, 'ok', { val_loss: 3.28, train_time: 3000000 }),
      node(1, 'ok', { val_loss: 3.27, train_time: 2800000, harness_wall_ms: 2900000 }),
      node(2, 'buggy', { val_loss: 3.285, train_time: 2000000, harness_wall_ms: 2100000 }),
      node(3, 'crashed', { train_time: 1000 }),
    ]);
    // record 2: 2250000 → 1400000 ms, reached exactly.
    await fakeRun('run-b', IDS[1], 'm1', [node(0, 'ok', {}), node(1, 'ok', { val_loss: 3.2799, train_time: 1400000 })]);
    // record 1 again: v_2 is faster, but broke an integrity rule (its time contradicts the harness's clock);
    // v_1 carries a warning only, which excludes nothing.
    await fakeRun('run-c', IDS[0], 'm1', [
      node(0, 'ok', {}),
      node(
        1,
        'ok',
        { val_loss: 3.2, train_time: 2000000 },
        { flags: ['train_gpt2.py:12 (added) touches the validation loss: val_loss += loss.detach()'] },
      ),
      node(
        2,
        'ok',
        { val_loss: 3.2, train_time: 900000, harness_wall_ms: 300000 },
        {
          violations: [
            {
              rule: 'clock.exceeds-wall',
              detail: 'reported train_time 900000 ms, but the whole execution took 300000 ms on the harness clock',
            },
          ],
        },
      ),
    ]);
    // no human records: not scorable.
    await fakeRun('run-d', 'collatz', 'm1', [node(0, 'ok', { score: 1 }), node(1, 'ok', { score: 0.5 })]);
    // a run that stored its config: hint level, scaffold and model come from there, not from the view.
    await fakeRun(
      'run-e',
      IDS[1],
      'view-model',
      [node(0, 'ok', {}), node(1, 'ok', { val_loss: 3.2, train_time: 1825000 })],
      {
        task: {
          id: IDS[1],
          records: { metric: 'train_time', baseline: 2250000, target: 1400000, excluded_from_scores: false },
        },
        model: { id: 'm2' },
        science_runner: { id: 'bon' },
        hint_level: '1+2',
      },
    );
  });

  it('scores each run by FSR and aggregates across them', async () => {
    const res = await cli(t, ['score', 'run-a', 'run-b', 'run-c', 'run-e', '--json']);
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    const byId = Object.fromEntries(out.runs.map((r: { runId: string }) => [r.runId, r]));
    expect(byId['run-a']).toMatchObject({
      task: IDS[0],
      record: 1,
      t_agent_ms: 2800000,
      baseline_ms: 3100000,
      target_ms: 2250000,
      excluded: false,
      best_node: 1,
      valid_versions: 1,
      flags: [],
      violations: [],
    });
    // (a crashed v_3 with a great time does not count either)
    expect(byId['run-a'].fsr).toBeCloseTo(300000 / 850000, 9);
    expect(byId['run-b']).toMatchObject({ fsr: 1, t_agent_ms: 1400000, best_node: 1 });
    expect(byId['run-c']).toMatchObject({ t_agent_ms: 2000000, best_node: 1, valid_versions: 1 });
    expect(byId['run-c'].fsr).toBeCloseTo(1100000 / 850000, 9);
    expect(byId['run-c'].violations).toEqual([
      'v_2: clock.exceeds-wall: reported train_time 900000 ms, but the whole execution took 300000 ms on the harness clock',
    ]);
    expect(byId['run-c'].flags).toEqual([
      'v_1: train_gpt2.py:12 (added) touches the validation loss: val_loss += loss.detach()',
    ]);
    // No stored config and not workflows in Temporal: their hint level is taken as 0, and said so.
    expect(byId['run-a']).toMatchObject({
      hint_level: '0',
      hint_level_source: 'assumed',
      model: 'm1',
      scaffold: 'aide',
    });
    expect(byId['run-e']).toMatchObject({
      hint_level: '1+2',
      hint_level_source: 'config',
      model: 'm2',
      scaffold: 'bon',
      fsr: 0.5,
    });

    // one group per configuration; record 1 has two runs of (0, aide, m1), padded to 3 with the smaller
    expect(out.groups.map((g: { key: object }) => g.key)).toEqual([
      { hint_level: '0', scaffold: 'aide', model: 'm1' },
      { hint_level: '1+2', scaffold: 'bon', model: 'm2' },
    ]);
    const g = out.groups[0];
    expect(g.records).toEqual([IDS[0], IDS[1]]);
    expect(g).toMatchObject({ rows: 2, n: 6, runs: 3, padded: 2 });
    expect(g.values[IDS[0]].map((v: number) => +v.toFixed(9))).toEqual(
      [22 / 17, 6 / 17, 6 / 17].map((v) => +v.toFixed(9)),
    );
    expect(g.fsr_bar).toBeCloseTo(85 / 102, 9); // rank means 39/34, 23/34, 23/34
    expect(g.mean.value).toBeCloseTo(85 / 102, 9);
    expect(g.median.value).toBeCloseTo(23 / 34, 9);
  });

  it('--offline-rule counts the version marked buggy for 3.28 < val_loss < 3.29; --target 3.29 --strict does not', async () => {
    const strict = await cli(t, ['score', 'run-a', '--json', '--target', '3.29', '--strict']);
    expect(strict.exitCode, strict.stderr).toBe(0);
    expect(JSON.parse(strict.stdout).runs[0]).toMatchObject({ t_agent_ms: 2800000, best_node: 1 });
    const res = await cli(t, ['score', 'run-a', '--json', '--offline-rule']);
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.rule).toEqual({ target: 3.29, strict: true, offline: true });
    expect(out.runs[0]).toMatchObject({ t_agent_ms: 2000000, best_node: 2, valid_versions: 2 });
    expect(out.runs[0].fsr).toBeCloseTo(1100000 / 850000, 9);
  });

  it('prints a table, the versions left out, the warnings and the groups', async () => {
    const res = await cli(t, ['score', 'run-a', 'run-b', 'run-c', '--resamples', '2000']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^run\s+task\s+model\s+scaffold\s+hint\s+valid\s+t_agent\s+baseline\s+target\s+FSR$/m);
    expect(res.stdout).toMatch(
      /^run-a\s+nanogpt_speedrun\/speedrun_record_1\s+m1\s+aide\s+0\?\s+1\s+2800\.0s\s+3100\.0s\s+2250\.0s\s+0\.353$/m,
    );
    expect(res.stdout).toContain(
      'run-c: version left out, integrity violation v_2: clock.exceeds-wall: reported train_time 900000 ms',
    );
    expect(res.stdout).toContain(
      'hint level 0 assumed (the run stored no config, and Temporal has none) for: run-a, run-b, run-c',
    );
    expect(res.stdout).toMatch(
      /^hint\s+scaffold\s+model\s+records\s+runs\s+FSR-bar ± SEM\s+median\s+IQM\s+mean\s+opt\. gap$/m,
    );
    expect(res.stdout).toMatch(/^0\s+aide\s+m1\s+2\s+3\s+0\.833 ± 0\.157\s+0\.676 \[/m);
  });

  it('refuses unknown runs and runs without records with exit 2', async () => {
    const unknown = await cli(t, ['score', 'run-b', 'no-such-run']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain(
      `unknown run or sweep id no-such-run: no stored view in ${join(t.home, 'store')}, and no workflow of that id on the server`,
    );
    const noRecords = await cli(t, ['score', 'run-b', 'run-d']);
    expect(noRecords.exitCode).toBe(2);
    expect(noRecords.stderr).toContain('cannot score run-d (task collatz has no human records)');
    expect(noRecords.stdout).toBe('');
  });
});

describe('an imported record through the durable run', () => {
  it('runs like any task, and its FSR shows in the result and in `score`', async () => {
    const t = env();
    expect((await cli(t, ['tasks', 'import', REF])).exitCode).toBe(0);
    // A speedrun task must name real token shards before it starts (the stand-in script does not read them).
    const shards = await tinyShardOverrides(t.home);
    const res = await cli(t, [
      'run',
      'task=nanogpt_speedrun/speedrun_record_1',
      ...shards,
      'task.launcher=python',
      'task.gpus_per_execution=0',
      'model=scripted',
      'model.script=test/fixtures/scripts/record-stand-in.yaml',
      'science_runner=bon',
      'n_iterations=1',
      '--json',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    const tree = JSON.parse((await cli(t, ['tree', out.runId, '--json'])).stdout);
    const child = tree.nodes[1];
    expect(child).toMatchObject({ status: 'ok', valid: true, metrics: { step: 8000, val_loss: 3.27 } });
    // FSR = (t_R - t_agent) / (t_R - t_R+1) with the records' times, not the root's time measured here.
    const expected = (3_100_000 - child.metrics.train_time) / (3_100_000 - 2_250_000);
    expect(out.fsr).toBeCloseTo(expected, 6);
    const scored = JSON.parse((await cli(t, ['score', out.runId, '--json', '--resamples', '1000'])).stdout);
    expect(scored.runs[0].fsr).toBeCloseTo(expected, 6);
    // the run's view names its stored config: the hint level is the run's, not assumed
    expect(scored.runs[0]).toMatchObject({ hint_level: '0', hint_level_source: 'config' });
  });
});
