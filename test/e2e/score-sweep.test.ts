import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadScript, startScriptedServer } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';
import type { SweepResult } from '../../core/sweep-state';
import { cli, connect, FIXTURE_TASKS, makeEnv, startWorker, stopWorker, trackCleanups } from '../helpers/harness';

// `score` of a sweep id and of a visibility query, on a real server with real workers: the runs' hint
// levels come from their stored configs.
const onCleanup = trackCleanups();

/** Two tasks of one family (`scorefix/…`) with human records and a level-1 hint: the counter task otherwise. */
function taskRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'score-tasks-'));
  mkdirSync(join(root, 'config', 'task', 'scorefix'), { recursive: true });
  mkdirSync(join(root, 'hints'), { recursive: true });
  cpSync(join(FIXTURE_TASKS, 'workspace_templates', 'counter'), join(root, 'workspace_templates', 'counter'), {
    recursive: true,
  });
  writeFileSync(join(root, 'hints', 'one.md'), 'Fewer steps finish sooner.\n');
  for (const r of [1, 2]) {
    writeFileSync(
      join(root, 'config', 'task', 'scorefix', `counter_${r}.yaml`),
      [
        `description: counter.py counts steps with a delay (record ${r} stand-in).`,
        'workspace_template: counter',
        'fnames: [counter.py]',
        'entry_fname: counter.py',
        'launcher: python',
        'timeout_s: 20',
        'metric_parser: regex',
        "metric_patterns: { score: '^score: ([\\d.]+)' }",
        'metric_types: { score: float }',
        'selection_metric: score',
        'lower_is_better: true',
        "hints: { '1': hints/one.md }",
        'records: { metric: score, baseline: 2, target: 1 }',
        '',
      ].join('\n'),
    );
  }
  return root;
}

describe('score of a sweep and of a query', () => {
  it('scores every cell of a sweep, by its id or by a SweepId query, with hint levels from the stored configs', async () => {
    const t = makeEnv(inject('temporalPort'), { SPEEDRUNNER_TASK_PATH: `${FIXTURE_TASKS}:${taskRoot()}` });
    const model = await startScriptedServer(loadScript(join(ROOT, 'test/fixtures/scripts/counter-parallel.yaml')));
    onCleanup(() => model.close());
    const control = await startWorker(t, 'control');
    onCleanup(() => stopWorker(control));
    const gpu = await startWorker(t, 'gpu');
    onCleanup(() => stopWorker(gpu));

    const file = join(t.home, 'score-sweep.yaml');
    const overrides = [
      'n_iterations=1',
      'execute_root=false',
      `model.base_url=${model.url}`,
      'task.env.COUNTER_STEPS=2',
    ];
    const matrix = { task: ['scorefix/counter_1', 'scorefix/counter_2'], model: 'scripted', hint_level: ['0', '1'] };
    writeFileSync(file, JSON.stringify({ id: `score-sweep-${Date.now()}`, overrides, matrix, concurrency: 4 }));
    const submitted = await cli(t, ['sweep', file, '--detach', '--json']);
    expect(submitted.exitCode, submitted.stderr).toBe(0);
    const { sweepId } = JSON.parse(submitted.stdout) as { sweepId: string };
    const client = await connect(t.port);
    onCleanup(() => client.connection.close());
    const result = (await client.workflow.getHandle(sweepId).result()) as SweepResult;
    expect(result.counts).toMatchObject({ completed: 4, failed: 0 });
    const cellRuns = result.outcomes.map((o) => o.runId).sort();

    const bySweep = await cli(t, ['score', sweepId, '--json', '--resamples', '500']);
    expect(bySweep.exitCode, bySweep.stderr).toBe(0);
    const out = JSON.parse(bySweep.stdout);
    expect(out.runs.map((r: { runId: string }) => r.runId).sort()).toEqual(cellRuns);
    for (const r of out.runs)
      expect(r).toMatchObject({
        hint_level_source: 'config',
        model: 'scripted',
        scaffold: 'aide',
        fsr: expect.any(Number),
      });
    expect(out.runs.map((r: { hint_level: string }) => r.hint_level).sort()).toEqual(['0', '0', '1', '1']);
    expect(out.groups.map((g: { key: object; rows: number }) => [g.key, g.rows])).toEqual([
      [{ hint_level: '0', scaffold: 'aide', model: 'scripted' }, 2],
      [{ hint_level: '1', scaffold: 'aide', model: 'scripted' }, 2],
    ]);

    const byQuery = await cli(t, [
      'score',
      `SweepId="${sweepId}"`,
      '--json',
      '--resamples',
      '500',
      '--group-by',
      'model',
    ]);
    expect(byQuery.exitCode, byQuery.stderr).toBe(0);
    const q = JSON.parse(byQuery.stdout);
    expect(q.runs.map((r: { runId: string }) => r.runId).sort()).toEqual(cellRuns);
    expect(q.groups).toHaveLength(1);
    expect(q.groups[0]).toMatchObject({ key: { model: 'scripted' }, configs: 2, rows: 4 });

    // a query that is not one the server takes is bad input
    const bad = await cli(t, ['score', 'NoSuchAttribute="x"']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/query "NoSuchAttribute=\\"x\\"" was refused/);
  });
});
