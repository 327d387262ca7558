import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadScript, startScriptedServer } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';
import { loadRunView } from '../../src/store/run-view-store';
import type { NodeRecord, RunView } from '../../core/types';
import { ArtifactStore } from '../../src/store/artifact-store';
import { pauseSignal, resumeSignal } from '../../temporal/workflows/speedrun';
import {
  cli,
  connect,
  makeEnv,
  startWorker,
  stopWorker,
  trackCleanups,
  waitFor,
  type TestEnv,
} from '../helpers/harness';

// The operator's levers on real runs: parallel hypotheses on two GPU workers, retry-node, fork, budgets,
// replay. What each does to the loop alone (pipeline included) is tested in the workflow tier.
const onCleanup = trackCleanups();

async function setUp(script: string, latencyMs: number, gpuWorkers = 1) {
  const t = makeEnv(inject('temporalPort'));
  const model = await startScriptedServer({
    ...loadScript(join(ROOT, 'test/fixtures/scripts', script)),
    latency_ms: latencyMs,
  });
  onCleanup(() => model.close());
  for (const kind of ['control', ...Array(gpuWorkers).fill('gpu')] as ('control' | 'gpu')[]) {
    const w = await startWorker(t, kind);
    onCleanup(() => stopWorker(w));
  }
  const client = await connect(t.port);
  const files = { runs: join(t.home, 'executions.txt'), spans: join(t.home, 'spans.txt') };
  const start = async (args: string[]) => {
    const res = await cli(t, [
      'run',
      'task=counter',
      `model.base_url=${model.url}`,
      `task.env.COUNTER_RUNS_FILE=${files.runs}`,
      `task.env.COUNTER_SPANS_FILE=${files.spans}`,
      ...args,
      '--detach',
      '--json',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    return JSON.parse(res.stdout).runId as string;
  };
  return { t, model, client, files, start };
}

const tree = async (t: TestEnv, runId: string): Promise<RunView> =>
  JSON.parse((await cli(t, ['tree', runId, '--json'])).stdout);
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);
const spans = (file: string) => lines(file).map((l) => l.split(' ').map(Number) as [number, number]);
const recorded = async (t: TestEnv, runId: string) =>
  (await loadRunView(new ArtifactStore(join(t.home, 'store')), runId))?.nodes ?? [];

describe('operator controls', () => {
  it("an iteration's hypotheses execute in parallel, and the next iteration improves the best of them", async () => {
    const { t, client, files, start } = await setUp('counter-parallel.yaml', 0, 2);
    const runId = await start(['science_runner=forest', 'n_iterations=2', 'task.env.COUNTER_STEPS=8']);
    const result = await client.workflow.getHandle(runId).result();
    expect(result).toMatchObject({ nodes: 7, buggy: 0 });
    const { nodes } = await tree(t, runId);
    expect(nodes.filter((n) => n.stage === 'draft').map((n) => [n.id, n.parent, n.iteration])).toEqual([
      [1, 0, 1],
      [2, 0, 1],
      [3, 0, 1],
    ]);
    // v_2 halved the delay: the best of iteration 1, so iteration 2's three children are all its.
    expect(nodes[2].metrics.score).toBeLessThan(Math.min(nodes[1].metrics.score, nodes[3].metrics.score));
    expect(nodes.slice(4).map((n) => [n.stage, n.parent, n.iteration])).toEqual([
      ['improve', 2, 2],
      ['improve', 2, 2],
      ['improve', 2, 2],
    ]);
    // Two GPU workers: some executions ran at the same time.
    const s = spans(files.spans);
    expect(s).toHaveLength(7);
    const overlapping = s.some(([a0, a1], i) => s.some(([b0], j) => i !== j && b0 > a0 && b0 < a1));
    expect(overlapping).toBe(true);
  });

  it('retry-node measures a version again beside its old result; replay checks the history; fork resumes from a node', async () => {
    const { t, client, files, start } = await setUp('counter-faster.yaml', 1500);
    const runId = await start(['science_runner=bon', 'n_iterations=3']);
    await waitFor('v_1 recorded', async () =>
      (await recorded(t, runId)).some((n) => n.id === 1 && n.status !== 'pending'),
    );
    // Held while the CLI starts (seconds on a loaded box), so the run cannot finish before it asks.
    await client.workflow.getHandle(runId).signal(pauseSignal);

    const refused = await cli(t, ['retry-node', runId, '99']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/has no node 99/);
    const retried = await cli(t, ['retry-node', runId, '1']);
    expect(retried.exitCode, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/v_1 will execute again/);
    await client.workflow.getHandle(runId).signal(resumeSignal);

    const result = await client.workflow.getHandle(runId).result();
    expect(result.nodes).toBe(4);
    const source = await tree(t, runId);
    const v1 = source.nodes[1];
    expect(v1.previous).toHaveLength(1);
    expect(v1.previous![0]).toMatchObject({ status: 'ok', valid: true });
    expect(v1.timings.exec_cached).toBeUndefined(); // measured again, not read from the result cache
    expect(lines(files.runs)).toHaveLength(4 + 1); // root, three versions, and the retry

    const replay = await cli(t, ['replay', runId]);
    expect(replay.exitCode, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/replays on the current code/);

    const forked = await cli(t, ['fork', runId, '--node', '2', 'n_iterations=1', '--detach', '--json']);
    expect(forked.exitCode, forked.stderr).toBe(0);
    const forkId = JSON.parse(forked.stdout).runId as string;
    const fork = await client.workflow.getHandle(forkId).result();
    expect(fork.nodes).toBe(4);
    const view = await tree(t, forkId);
    expect(view.forked_from).toEqual({ runId, nodeId: 2 });
    // Its v_0..v_2 are the source's lineage of v_2, not executed again; v_3 improves v_2.
    expect(view.nodes.slice(0, 3).map((n: NodeRecord) => n.snapshot)).toEqual(
      source.nodes.slice(0, 3).map((n) => n.snapshot),
    );
    expect(view.nodes[3]).toMatchObject({ parent: 2, stage: 'improve', status: 'ok' });
    // The scripted coder wrote the very version the source run measured as its v_3: its result is
    // reused from the execution cache, so nothing ran at all for the fork.
    expect(view.nodes[3].snapshot).toBe(source.nodes[3].snapshot);
    expect(view.nodes[3].timings.exec_cached).toBe(true);
    expect(lines(files.runs)).toHaveLength(5);
    expect(readFileSync(join(t.home, 'workspaces', forkId, 'v_2', 'counter.py'), 'utf8')).toBe(
      readFileSync(join(t.home, 'workspaces', runId, 'v_2', 'counter.py'), 'utf8'),
    );

    const badFork = await cli(t, ['fork', runId, '--node', '7']);
    expect(badFork.exitCode).toBe(1);
    expect(badFork.stderr).toMatch(/has no node 7/);
  });

  it('a budget ends the run cleanly with the reason; a terminated run can still be forked', async () => {
    const { t, client, start } = await setUp('counter-parallel.yaml', 0);
    const runId = await start(['science_runner=bon', 'n_iterations=10', 'budget.gpu_seconds=2']);
    const result = await client.workflow.getHandle(runId).result();
    expect(result.stopped).toMatch(/^budget: [\d.]+ GPU-seconds reached budget\.gpu_seconds=2$/);
    expect(result.nodes).toBeLessThan(11);
    expect(result.gpu_seconds).toBeGreaterThanOrEqual(2);
    expect(JSON.parse((await cli(t, ['status', runId, '--json'])).stdout)).toMatchObject({
      status: 'COMPLETED',
      stopped: result.stopped,
    });

    const slow = await start(['science_runner=bon', 'n_iterations=20']);
    await waitFor('v_1 recorded', async () =>
      (await recorded(t, slow)).some((n) => n.id === 1 && n.status !== 'pending'),
    );
    await client.workflow.getHandle(slow).terminate('test: an operator gave up on it');
    const forked = await cli(t, [
      'fork',
      slow,
      '--node',
      '1',
      'n_iterations=1',
      'science_runner=tree',
      '--detach',
      '--json',
    ]);
    expect(forked.exitCode, forked.stderr).toBe(0);
    const fork = await client.workflow.getHandle(JSON.parse(forked.stdout).runId).result();
    expect(fork.nodes).toBe(2 + 3); // the lineage v_0, v_1, then the tree scaffold's three children of v_1
  });
});
