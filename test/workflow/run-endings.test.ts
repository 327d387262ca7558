// How runs end and what readers are told: the node cap as a stop reason, a failed run's cause from its
// close event, and pollers left behind by exited workers (the `run --detach` hang).
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { speedrunWorkflow, stateQuery } from '../../temporal/workflows/speedrun';
import { hasPollers, readRun } from '../../temporal/client/run-client';
import { runFailure } from '../../temporal/client/run-failure';
import { resolveRunConfig } from '../../src/config/load';
import { StubActivities, until, workflowTier, type WorkflowTier } from './harness';

let tier: WorkflowTier;
let store: string;
beforeAll(async () => {
  tier = await workflowTier();
  store = mkdtempSync(join(tmpdir(), 'sr-endings-'));
});
afterAll(async () => {
  await tier?.teardown();
  rmSync(store, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

/** Stubs whose prepareRun fails for good, as a missing template would. */
class FailingPrepare extends StubActivities {
  control() {
    return {
      ...super.control(),
      prepareRun: async () => {
        throw ApplicationFailure.nonRetryable('workspace template /x/workspace_templates/nope is missing');
      },
    };
  }
}

describe('how a run ends', () => {
  it('says the node cap stopped it', async () => {
    const run = await tier.start(new StubActivities(), [
      'science_runner=bon',
      'n_iterations=6',
      'science_runner.max_n_nodes=2',
    ]);
    const result = await run.finished();
    expect(result.nodes).toBe(3);
    expect(result.stopped).toBe('max_n_nodes=2 reached at iteration 2/6');
    expect((await run.handle.query(stateQuery)).stopped).toBe(result.stopped);
  });

  it("gives a failed run's cause, from its close event, to status and ls", async () => {
    const run = await tier.start(new FailingPrepare(), ['n_iterations=1']);
    await expect(run.finished()).rejects.toThrow();
    const client = tier.env.client;
    expect(await runFailure(client, run.handle.workflowId, 'FAILED')).toBe(
      'workspace template /x/workspace_templates/nope is missing',
    );
    const readout = await readRun(client, run.handle.workflowId, store);
    expect(readout).toMatchObject({
      status: 'FAILED',
      source: 'query',
      failure: 'workspace template /x/workspace_templates/nope is missing',
    });
    expect(await runFailure(client, run.handle.workflowId, 'COMPLETED')).toBeUndefined();
  });
});

describe('pollers of exited workers', () => {
  it('do not count: a run on a queue only they polled is reported at once, not after a query timeout', async () => {
    const taskQueue = `dead-${randomBytes(4).toString('hex')}`;
    const pid = await deadPid();
    // A worker that identifies as that exited process, as a foreground run's in-process worker did.
    const worker = await tier.workers(new StubActivities(), taskQueue, { identity: `${pid}@${hostname()}` }, false);
    const client = tier.env.client;
    const listed = async () =>
      (
        await client.workflowService.describeTaskQueue({
          namespace: client.options.namespace,
          taskQueue: { name: taskQueue },
          taskQueueType: 1,
        })
      ).pollers ?? [];
    await until('the worker polls', async () => (await listed()).length > 0);
    worker.shutdown();
    await until('the worker stops', () => worker.getState() === 'STOPPED');
    expect((await listed()).map((p) => p.identity)).toContain(`${pid}@${hostname()}`); // the server still lists it
    expect(await hasPollers(client, taskQueue)).toBe(false);

    const config = {
      ...resolveRunConfig(['task=collatz', 'model=scripted', `store=${store}`], process.env),
      task_queue: taskQueue,
    };
    const handle = await client.workflow.start(speedrunWorkflow, {
      taskQueue,
      workflowId: `dead-${randomBytes(4).toString('hex')}`,
      args: [{ config }],
    });
    const t0 = Date.now();
    await expect(readRun(client, handle.workflowId, store)).rejects.toThrow(
      `has no stored snapshot yet and no live worker polls task queue ${taskQueue}`,
    );
    expect(Date.now() - t0).toBeLessThan(5000); // the query timeout (10 s) was not waited out
    await handle.terminate('test over');
  });
});
