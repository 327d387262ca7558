import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadScript, startScriptedServer } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';
import { cli, connect, makeEnv, startWorker, stopWorker, trackCleanups, type WorkerProcess } from '../helpers/harness';

// A Temporal reset re-runs every activity after the reset point; the caches must make that free.
const onCleanup = trackCleanups();

describe('a Temporal reset of a finished run', () => {
  it('reuses cached LLM replies and measured executions instead of paying again', async () => {
    const t = makeEnv(inject('temporalPort'));
    const model = await startScriptedServer(loadScript(join(ROOT, 'test/fixtures/scripts/counter-faster.yaml')));
    onCleanup(() => model.close());
    for (const kind of ['control', 'gpu'] as const) {
      const w: WorkerProcess = await startWorker(t, kind);
      onCleanup(() => stopWorker(w));
    }
    const runsFile = join(t.home, 'executions.txt');
    const started = await cli(t, [
      'run',
      'task=counter',
      `model.base_url=${model.url}`,
      'science_runner=bon',
      'n_iterations=2',
      `task.env.COUNTER_RUNS_FILE=${runsFile}`,
      '--detach',
      '--json',
    ]);
    expect(started.exitCode, started.stderr).toBe(0);
    const { runId } = JSON.parse(started.stdout);
    const client = await connect(t.port);
    const first = await client.workflow.getHandle(runId).result();
    const executions = () => readFileSync(runsFile, 'utf8').trim().split('\n').length;
    expect(executions()).toBe(3); // root, a draft and an improvement
    const paid = model.requests.length;
    expect(paid).toBe(3 + 2 * 2); // an outcome summary per version, an idea and an edit per iteration

    // Reset to the first workflow task: everything after it is scheduled again.
    const { events } = await client.workflow.getHandle(runId).fetchHistory();
    const firstTask = events!.find((e) => e.workflowTaskCompletedEventAttributes)!;
    const firstRunId = (await client.workflow.getHandle(runId).describe()).runId;
    const reset = await client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: runId, runId: firstRunId },
      workflowTaskFinishEventId: firstTask.eventId,
      requestId: randomUUID(),
      reason: 'test: reset must be cheap',
    });
    expect(reset.runId).not.toBe(firstRunId);
    const again = await client.workflow.getHandle(runId, reset.runId!).result();

    expect(again).toMatchObject({ nodes: first.nodes, best: first.best, usage: first.usage });
    expect(executions()).toBe(3); // no execution ran again
    expect(model.requests.length).toBe(paid); // no LLM call was paid again
    const tree = JSON.parse((await cli(t, ['tree', runId, '--json'])).stdout);
    for (const n of tree.nodes) expect(n.timings.exec_cached).toBe(true);
  });
});
