import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { loadScript, startScriptedServer } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';
import type { SweepProgress, SweepResult } from '../../core/sweep-state';
import {
  cli,
  connect,
  FIXTURE_TASKS,
  makeEnv,
  startWorker,
  stopWorker,
  trackCleanups,
  type TestEnv,
  type WorkerProcess,
} from '../helpers/harness';

// Sweeps on a real server with real workers and the scripted model: concurrency, attach, failure, retry.
const onCleanup = trackCleanups();

async function setUp() {
  // A second task root: `flaky` is the counter task with a template that does not exist until the test
  // writes it, so its runs fail (TaskError) until then.
  const extra = mkdtempSync(join(tmpdir(), 'sweep-tasks-'));
  mkdirSync(join(extra, 'config', 'task'), { recursive: true });
  const counter = readFileSync(join(FIXTURE_TASKS, 'config', 'task', 'counter.yaml'), 'utf8');
  writeFileSync(
    join(extra, 'config', 'task', 'flaky.yaml'),
    counter.replace('workspace_template: counter', 'workspace_template: flaky'),
  );
  const t = makeEnv(inject('temporalPort'), { SPEEDRUNNER_TASK_PATH: `${FIXTURE_TASKS}:${extra}` });
  const model = await startScriptedServer(loadScript(join(ROOT, 'test/fixtures/scripts/counter-parallel.yaml')));
  onCleanup(() => model.close());
  const workers: Record<string, WorkerProcess> = {};
  for (const kind of ['control', 'gpu'] as const) {
    workers[kind] = await startWorker(t, kind);
    onCleanup(() => stopWorker(workers[kind]));
  }
  const client = await connect(t.port);
  const sweepFile = (name: string, body: Record<string, unknown>) => {
    const f = join(t.home, name);
    const overrides = [
      'n_iterations=1',
      'execute_root=false',
      `model.base_url=${model.url}`,
      'task.env.COUNTER_STEPS=2',
    ];
    writeFileSync(f, JSON.stringify({ overrides, ...body })); // JSON is YAML
    return f;
  };
  return { t, client, workers, extra, sweepFile };
}

const submit = async (t: TestEnv, file: string) => {
  const res = await cli(t, ['sweep', file, '--detach', '--json']);
  expect(res.exitCode, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as { sweepId: string; attached: boolean; cells: number };
};

async function children(client: Client, sweepId: string) {
  const out = [];
  for await (const wf of client.workflow.list({ query: `SweepId="${sweepId}"` })) out.push(wf);
  return out;
}

const status = async (t: TestEnv, sweepId: string) => {
  const res = await cli(t, ['sweep', 'status', sweepId, '--json']);
  expect(res.exitCode, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as SweepProgress & { status: string };
};

describe('sweeps', () => {
  it('runs 4 cells at most 2 at a time; submitting the same file again attaches', async () => {
    const { t, client, sweepFile } = await setUp();
    const file = sweepFile('four.yaml', {
      matrix: { task: 'counter', model: 'scripted', seed: [1, 2, 3, 4] },
      concurrency: 2,
    });
    const first = await submit(t, file);
    expect(first).toMatchObject({ attached: false, cells: 4 });
    const sweep = client.workflow.getHandle(first.sweepId);
    const runId = (await sweep.describe()).runId;

    const again = await submit(t, file);
    expect(again).toMatchObject({ sweepId: first.sweepId, attached: true });
    expect((await sweep.describe()).runId).toBe(runId);

    const result = (await sweep.result()) as SweepResult;
    expect(result.counts).toEqual({ pending: 0, running: 0, completed: 4, failed: 0 });
    expect(result.outcomes.every((o) => o.cost_usd === 0 && typeof o.best_metric === 'number')).toBe(true);

    const runs = await children(client, first.sweepId);
    expect(runs.map((r) => r.workflowId).sort()).toEqual(
      [1, 2, 3, 4].map((s) => `${first.sweepId}/counter.scripted.aide.h0.s${s}`),
    );
    expect(runs.every((r) => r.status.name === 'COMPLETED' && r.type === 'speedrunWorkflow')).toBe(true);
    // Never more than 2 children alive at once (and 2 did run together).
    const spans = runs.map((r) => [r.startTime.getTime(), r.closeTime!.getTime()]);
    const alive = (at: number) => spans.filter(([s, e]) => s <= at && at < e).length;
    const peak = Math.max(...spans.map(([s]) => alive(s)));
    expect(peak).toBe(2);

    const p = await status(t, first.sweepId);
    expect(p).toMatchObject({ status: 'COMPLETED', total: 4, concurrency: 2, counts: { completed: 4 } });
    expect(p.cells.map((c) => c.runId)).toEqual(
      [1, 2, 3, 4].map((s) => `${first.sweepId}/counter.scripted.aide.h0.s${s}`),
    );
    // Closed: a third submit starts nothing and says what to do instead.
    const closed = await cli(t, ['sweep', file, '--detach']);
    expect(closed.exitCode).toBe(1);
    expect(closed.stderr).toMatch(/already ran \(COMPLETED\).*sweep retry/);
    expect(await children(client, first.sweepId)).toHaveLength(4);
  });

  it('a failing cell leaves the sweep completed; retry --failed reruns only it, under a fresh id', async () => {
    const { t, client, workers, extra, sweepFile } = await setUp();
    const bad = await cli(t, [
      'sweep',
      sweepFile('bad.yaml', { matrix: { task: 'counter', science_runner: ['aide', 'nope'] } }),
      '--detach',
    ]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/cell task=counter science_runner=nope: unknown science_runner 'nope'/);

    const file = sweepFile('mixed.yaml', {
      id: `mixed-${Date.now()}`,
      matrix: { task: ['counter', 'flaky'], seed: 1 },
      concurrency: 2,
    });
    const { sweepId } = await submit(t, file);
    const result = (await client.workflow.getHandle(sweepId).result()) as SweepResult;
    expect(result.counts).toMatchObject({ completed: 1, failed: 1 });
    const p = await status(t, sweepId);
    expect(p.status).toBe('COMPLETED');
    const [ok, failed] = p.cells;
    expect(ok).toMatchObject({ cell: 'counter.scripted.aide.h0.s1', status: 'completed', attempt: 1 });
    expect(failed).toMatchObject({
      cell: 'flaky.scripted.aide.h0.s1',
      status: 'failed',
      attempt: 1,
      runId: `${sweepId}/flaky.scripted.aide.h0.s1`,
    });
    expect(failed.error).toMatch(/workspace template .* does not exist/);

    // Fix the cause, then retry: the sweep starts again with its outcomes; only the failed cell runs.
    cpSync(join(FIXTURE_TASKS, 'workspace_templates', 'counter'), join(extra, 'workspace_templates', 'flaky'), {
      recursive: true,
    });
    const retried = await cli(t, ['sweep', 'retry', sweepId, '--failed']);
    expect(retried.exitCode, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/sweep started again: flaky.scripted.aide.h0.s1/);
    const second = (await client.workflow.getHandle(sweepId).result()) as SweepResult;
    expect(second.counts).toMatchObject({ completed: 2, failed: 0 });
    expect(second.outcomes[0]).toEqual(result.outcomes[0]); // untouched
    expect(second.outcomes[1]).toMatchObject({
      status: 'completed',
      attempt: 2,
      runId: `${sweepId}/flaky.scripted.aide.h0.s1#2`,
    });
    const runs = await children(client, sweepId);
    expect(runs.map((r) => r.workflowId).sort()).toEqual([
      `${sweepId}/counter.scripted.aide.h0.s1`,
      `${sweepId}/flaky.scripted.aide.h0.s1`,
      `${sweepId}/flaky.scripted.aide.h0.s1#2`,
    ]);

    const nothing = await cli(t, ['sweep', 'retry', sweepId, '--cell', 'nope.x']);
    expect(nothing.exitCode).toBe(1);
    expect(nothing.stderr).toMatch(/no cell 'nope.x'/);

    // No worker: status says so instead of hanging.
    await stopWorker(workers.control);
    const down = await cli(t, ['sweep', 'status', sweepId]);
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toMatch(
      /no worker (polls its control queue|answered the progress query).*speedrunner worker control/,
    );
  });
  it('on a terminal, a sweep redraws a live progress line under its count lines; piped, it prints none', async () => {
    const { t, sweepFile } = await setUp();
    const matrix = { task: 'counter', model: 'scripted', science_runner: 'bon', seed: [1, 2] };
    // util-linux `script` gives the CLI a pseudo-terminal, as an operator's shell would.
    const onTty = sweepFile('tty.yaml', { id: 'on-tty', matrix, concurrency: 2 });
    const command = [process.execPath, join(ROOT, 'bin', 'speedrunner.js'), 'sweep', onTty]
      .map((a) => `'${a}'`)
      .join(' ');
    const tty = await execa('script', ['-qec', command, '/dev/null'], { env: t.env, reject: false, timeout: 300_000 });
    expect(tty.exitCode, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/(running|starting cells|done) · cells [0-2]\/2/); // the live line…
    expect(tty.stdout).toContain('\r\x1b[2K'); // …redrawn in place
    expect(tty.stdout).toMatch(/sweep on-tty completed: 2 completed, 0 failed/);

    const piped = await cli(t, ['sweep', sweepFile('piped.yaml', { id: 'piped', matrix, concurrency: 2 })], {
      timeout: 300_000,
    });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(piped.stdout).toMatch(/sweep piped completed: 2 completed, 0 failed/);
    expect(piped.stdout).not.toMatch(/cells [0-2]\/2/);
    expect(piped.stdout).not.toContain('\x1b[');
  });
});
