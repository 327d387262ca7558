import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadScript, startScriptedServer } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';
import { loadRunView } from '../../src/store/run-view-store';
import { ArtifactStore } from '../../src/store/artifact-store';
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

// The CLI's steering commands reach a live run through real processes (signals and an update, as the
// Temporal UI would send them). What each does to the loop is tested in the workflow tier
// (test/workflow/steering.test.ts); here only that the commands arrive and answer.
const onCleanup = trackCleanups();

const nodesRecorded = async (t: TestEnv, runId: string) =>
  (await loadRunView(new ArtifactStore(join(t.home, 'store')), runId))?.nodes.length ?? 0;
const status = async (t: TestEnv, runId: string) => JSON.parse((await cli(t, ['status', runId, '--json'])).stdout);

describe('steering a run from the CLI', () => {
  it('pause, extend, resume and stop reach the run and say what they did', async () => {
    const t = makeEnv(inject('temporalPort'));
    const model = await startScriptedServer(loadScript(join(ROOT, 'test/fixtures/scripts/counter-faster.yaml')));
    onCleanup(() => model.close());
    for (const kind of ['control', 'gpu'] as const) {
      const w = await startWorker(t, kind);
      onCleanup(() => stopWorker(w));
    }
    const started = await cli(t, [
      'run',
      'task=counter',
      `model.base_url=${model.url}`,
      'science_runner=bon',
      'n_iterations=50',
      '--detach',
      '--json',
    ]);
    expect(started.exitCode, started.stderr).toBe(0);
    const runId = JSON.parse(started.stdout).runId as string;
    await waitFor('root recorded', async () => (await nodesRecorded(t, runId)) >= 1);

    expect((await cli(t, ['pause', runId])).exitCode).toBe(0);
    await waitFor('paused phase', async () => (await status(t, runId)).phase === 'paused');
    expect(await status(t, runId)).toMatchObject({ paused: true, status: 'RUNNING' });

    const extended = await cli(t, ['extend', runId, '--iterations', '1']);
    expect(extended.stdout).toContain(`${runId} now runs 51 iterations`);
    const refused = await cli(t, ['extend', runId, '--iterations', '0']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/extend takes a positive whole number of iterations/);

    const held = await nodesRecorded(t, runId);
    expect((await cli(t, ['resume', runId])).exitCode).toBe(0);
    await waitFor('a version recorded after resume', async () => (await nodesRecorded(t, runId)) > held);
    expect((await cli(t, ['stop', runId, '--reason', 'enough for today'])).exitCode).toBe(0);
    const result = await (await connect(t.port)).workflow.getHandle(runId).result();
    expect(result.stopped).toBe('enough for today');
    const tree = JSON.parse((await cli(t, ['tree', runId, '--json'])).stdout);
    expect(tree.nodes.filter((n: { status: string }) => n.status === 'pending')).toEqual([]);
  });
});
