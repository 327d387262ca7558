import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadScript, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';
import { loadRunView } from '../../src/store/run-view-store';
import { ArtifactStore } from '../../src/store/artifact-store';
import { cli, connect, makeEnv, sleep, startWorker, stopWorker, trackCleanups, waitFor, type TestEnv } from '../helpers/harness';
import { extendUpdate, pauseSignal, resumeSignal, stateQuery, treeQuery } from '../../temporal/workflows/speedrun';

// Steering a live run from the CLI (signals and an update, as the Temporal UI would send them).
const onCleanup = trackCleanups();

async function setUp() {
  const t = makeEnv(inject('temporalPort'));
  // Slow replies keep the run going long enough for a CLI command (a fresh process) to reach it.
  const script = loadScript(join(ROOT, 'test/fixtures/scripts/counter-faster.yaml'));
  const model = await startScriptedServer({ ...script, latency_ms: 1500 });
  onCleanup(() => model.close());
  for (const kind of ['control', 'gpu'] as const) {
    const w = await startWorker(t, kind);
    onCleanup(() => stopWorker(w));
  }
  return { t, model, runsFile: join(t.home, 'executions.txt') };
}

async function start(t: TestEnv, model: ScriptedServer, runsFile: string, iterations: number) {
  const res = await cli(t, [
    'run', 'task=counter', `model.base_url=${model.url}`, 'science_runner=bon',
    `n_iterations=${iterations}`, `task.env.COUNTER_RUNS_FILE=${runsFile}`, '--detach', '--json',
  ]);
  expect(res.exitCode, res.stderr).toBe(0);
  return JSON.parse(res.stdout).runId as string;
}

const nodesRecorded = async (t: TestEnv, runId: string) => (await loadRunView(new ArtifactStore(join(t.home, 'store')), runId))?.nodes.length ?? 0;
const status = async (t: TestEnv, runId: string) => JSON.parse((await cli(t, ['status', runId, '--json'])).stdout);

describe('steering a run', () => {
  it('pause holds it (no LLM call, no execution), extend adds iterations, resume lets it finish', async () => {
    const { t, model, runsFile } = await setUp();
    const runId = await start(t, model, runsFile, 5);
    await waitFor('root recorded', async () => (await nodesRecorded(t, runId)) >= 1);
    expect((await cli(t, ['pause', runId])).exitCode).toBe(0);
    await waitFor('paused phase', async () => (await status(t, runId)).phase === 'paused');
    expect(await status(t, runId)).toMatchObject({ paused: true, status: 'RUNNING' });

    const calls = model.requests.length;
    const executions = existsSync(runsFile) ? readFileSync(runsFile, 'utf8').split('\n').length : 0;
    const nodes = await nodesRecorded(t, runId);
    await sleep(4000);
    expect(model.requests.length).toBe(calls);
    expect(readFileSync(runsFile, 'utf8').split('\n').length).toBe(executions);
    expect(await nodesRecorded(t, runId)).toBe(nodes);

    const extended = await cli(t, ['extend', runId, '--iterations', '1']);
    expect(extended.stdout).toContain(`${runId} now runs 6 iterations`);
    const refused = await cli(t, ['extend', runId, '--iterations', '0']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/extend takes a positive whole number of iterations/);

    expect((await cli(t, ['resume', runId])).exitCode).toBe(0);
    const result = await (await connect(t.port)).workflow.getHandle(runId).result();
    expect(result).toMatchObject({ nodes: 7 });
    expect(result.stopped).toBeUndefined();
  });

  it('stop finishes the node in flight and completes with what exists', async () => {
    const { t, model, runsFile } = await setUp();
    const runId = await start(t, model, runsFile, 50);
    await waitFor('two nodes recorded', async () => (await nodesRecorded(t, runId)) >= 2);
    const before = await nodesRecorded(t, runId);
    expect((await cli(t, ['stop', runId, '--reason', 'enough for today'])).exitCode).toBe(0);
    const result = await (await connect(t.port)).workflow.getHandle(runId).result();
    expect(result.stopped).toBe('enough for today');
    // At most the node in flight when the signal landed (and one started while the CLI came up) was added.
    expect(result.nodes).toBeLessThanOrEqual(before + 2);
    const s = await status(t, runId);
    expect(s).toMatchObject({ status: 'COMPLETED', phase: 'done', stopped: 'enough for today', nodes: result.nodes });
    // Every node that was started was finished: none is left pending.
    const tree = JSON.parse((await cli(t, ['tree', runId, '--json'])).stdout);
    for (const n of tree.nodes) expect(n.status).not.toBe('pending');
  });

  it('a run paused in its last iteration holds instead of completing, and can still be extended', async () => {
    const { t, model, runsFile } = await setUp();
    const runId = await start(t, model, runsFile, 1);
    const handle = (await connect(t.port)).workflow.getHandle(runId);
    // Straight from the client, while the only iteration's version executes.
    await waitFor('v_1 executing', async () => {
      const s = await handle.query(stateQuery);
      return s.iteration === 1 && s.phase === 'executing';
    });
    await handle.signal(pauseSignal);
    // v_1 is measured and recorded; without the pause the run would now complete.
    const held = await waitFor('held at the end', async () => {
      const s = await handle.query(treeQuery);
      return s.phase === 'paused' && s.nodes[1].status !== 'pending' && s;
    });
    expect(held).toMatchObject({ iteration: 1, n_iterations: 1, paused: true });
    expect(held.nodes).toHaveLength(2);
    await sleep(2000);
    expect((await handle.describe()).status.name).toBe('RUNNING');

    expect(await handle.executeUpdate(extendUpdate, { args: [1] })).toBe(2);
    await handle.signal(resumeSignal);
    expect(await handle.result()).toMatchObject({ nodes: 3 });
  });

});
