import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { loadScript, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import { loadRunView } from '../../src/store/run-view-store';
import { ArtifactStore } from '../../src/store/artifact-store';
import { freePort, startDevServer, stopDevServer } from '../../temporal/client/dev-server';
import { ROOT } from '../../src/paths';
import {
  cli,
  connect,
  makeEnv,
  processesMatching,
  sleep,
  startWorker,
  stopWorker,
  trackCleanups,
  waitFor,
  type TestEnv,
  type WorkerProcess,
} from '../helpers/harness';

// The run survives its parts dying: real worker processes killed with SIGKILL, a real dev server
// stopped and restarted on the same SQLite file. Each run must end complete, no node lost or doubled.

const onCleanup = trackCleanups();

async function scripted(latencyMs = 0): Promise<ScriptedServer> {
  const script = loadScript(join(ROOT, 'test/fixtures/scripts/counter-faster.yaml'));
  const server = await startScriptedServer({ ...script, latency_ms: latencyMs });
  onCleanup(() => server.close());
  return server;
}

async function worker(t: TestEnv, kind: 'control' | 'gpu'): Promise<WorkerProcess> {
  const w = await startWorker(t, kind, { OPENAI_API_KEY: 'sk-worker-secret' });
  onCleanup(() => stopWorker(w, 'SIGKILL'));
  return w;
}

/** Starts a run of the counter task through the CLI (`--detach`): one draft, then one improvement per iteration. */
async function startRun(t: TestEnv, model: ScriptedServer, tag: string, extra: string[]) {
  const res = await cli(t, [
    'run',
    'task=counter',
    `model.base_url=${model.url}`,
    'science_runner=bon',
    'timeouts.execution_heartbeat_s=3',
    'timeouts.llm_heartbeat_s=3',
    `task.args=[${tag}]`,
    ...extra,
    '--detach',
    '--json',
  ]);
  expect(res.exitCode, res.stderr).toBe(0);
  return JSON.parse(res.stdout).runId as string;
}

async function storedView(t: TestEnv, runId: string) {
  return loadRunView(new ArtifactStore(join(t.home, 'store')), runId);
}

/** The finished tree: ids 0..n-1 exactly once each, every node measured and valid. */
async function expectCompleteTree(t: TestEnv, runId: string, nodes: number) {
  const view = (await storedView(t, runId))!;
  expect(view.phase).toBe('done');
  expect(view.nodes.map((n) => n.id)).toEqual([...Array(nodes).keys()]);
  for (const n of view.nodes) expect(n).toMatchObject({ status: 'ok', valid: true });
  return view;
}

async function pendingExecution(client: Client, runId: string) {
  const desc = await client.workflow.getHandle(runId).describe();
  const act = desc.raw.pendingActivities?.find((a) => a.activityType?.name === 'execute');
  const details = act?.heartbeatDetails?.payloads?.[0];
  return details ? (defaultPayloadConverter.fromPayload(details) as { step?: number; elapsed_ms: number }) : undefined;
}

describe('a run survives', () => {
  it('the GPU worker killed (SIGKILL) mid-execution, then restarted', async () => {
    const t = makeEnv(inject('temporalPort'));
    const tag = `gpu-kill-${Date.now()}`;
    const model = await scripted();
    await worker(t, 'control');
    const gpu = await worker(t, 'gpu');
    const client = await connect(t.port);
    const runId = await startRun(t, model, tag, ['n_iterations=2', 'task.env.COUNTER_STEPS=16']);

    // Wait until the first child version is training and has reported progress through heartbeats.
    await waitFor('root recorded', async () => ((await storedView(t, runId))?.nodes.length ?? 0) >= 1);
    const beat = await waitFor('a heartbeat with a step', async () => {
      const d = await pendingExecution(client, runId);
      return d?.step !== undefined && d.step >= 2 && d;
    });
    expect(beat.elapsed_ms).toBeGreaterThan(0);
    expect(await processesMatching(tag)).not.toEqual([]);

    await stopWorker(gpu, 'SIGKILL');
    // The execution's process group dies with its worker instead of training on unowned.
    await waitFor('orphaned execution gone', async () => (await processesMatching(tag)).length === 0, 10_000);

    await worker(t, 'gpu');
    const result = await client.workflow.getHandle(runId).result();
    expect(result).toMatchObject({ nodes: 3, buggy: 0 });
    await expectCompleteTree(t, runId, 3);
    // The execution really ran twice: the second attempt on the new worker.
    const history = await client.workflow.getHandle(runId).fetchHistory();
    const attempts = history
      .events!.filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
  });

  it('the control worker killed (SIGKILL) during an LLM call; completed calls are not paid again', async () => {
    const t = makeEnv(inject('temporalPort'));
    const model = await scripted(1500);
    const control = await worker(t, 'control');
    await worker(t, 'gpu');
    const client = await connect(t.port);
    const runId = await startRun(t, model, `llm-kill-${Date.now()}`, ['n_iterations=3']);

    // Two calls answered (the root's summary, v_1's idea), the third in flight: kill the worker waiting on it.
    await waitFor('third LLM call in flight', () => model.requests.length >= 3);
    await stopWorker(control, 'SIGKILL');
    const before = model.requests.length;
    expect(before).toBe(3);
    await worker(t, 'control');

    const result = await client.workflow.getHandle(runId).result();
    expect(result).toMatchObject({ nodes: 4, buggy: 0 });
    await expectCompleteTree(t, runId, 4);
    // The root's outcome summary, then 3 nodes x (ideator + coder + summary) = 10 logical calls; only
    // the one cut off may have been made twice.
    expect(result.usage.calls).toBe(10);
    expect(model.requests.length).toBeGreaterThanOrEqual(10);
    expect(model.requests.length).toBeLessThanOrEqual(11);
    const byRule = model.requests.reduce<Record<string, number>>(
      (acc, r) => ({ ...acc, [r.rule]: (acc[r.rule] ?? 0) + 1 }),
      {},
    );
    expect(byRule.ideator + byRule.coder + byRule['summarizer-ok']).toBe(model.requests.length);
  });

  it('the dev server stopped and restarted mid-run on the same SQLite file', async () => {
    const serverHome = mkdtempSync(join(tmpdir(), 'speedrunner-test-restart-'));
    const port = await freePort();
    const uiPort = await freePort();
    await startDevServer({ home: serverHome, port, uiPort, headless: true });
    onCleanup(() => stopDevServer(serverHome));
    const t = makeEnv(port);
    const model = await scripted();
    const control = await worker(t, 'control');
    const gpu = await worker(t, 'gpu');
    const runId = await startRun(t, model, `restart-${Date.now()}`, ['n_iterations=4', 'task.env.COUNTER_STEPS=6']);

    await waitFor('two nodes recorded', async () => ((await storedView(t, runId))?.nodes.length ?? 0) >= 2);
    await stopDevServer(serverHome);
    await sleep(3000);
    const again = await startDevServer({ home: serverHome, port, uiPort, headless: true });
    expect(again.started).toBe(true);

    const client = await connect(port);
    const result = await client.workflow.getHandle(runId).result();
    expect(result).toMatchObject({ nodes: 5, buggy: 0 });
    await expectCompleteTree(t, runId, 5);

    // `status` reads the finished run through a query while a worker is up, from the store once none is.
    const live = JSON.parse((await cli(t, ['status', runId, '--json'])).stdout);
    expect(live).toMatchObject({ runId, status: 'COMPLETED', source: 'query', phase: 'done', nodes: 5 });
    await stopWorker(control);
    await stopWorker(gpu);
    const stored = JSON.parse((await cli(t, ['status', runId, '--json'])).stdout);
    expect(stored).toMatchObject({
      runId,
      status: 'COMPLETED',
      source: 'store',
      phase: 'done',
      nodes: 5,
      best: live.best,
    });
    const tree = (await cli(t, ['tree', runId])).stdout;
    expect(tree).toContain('read from the stored snapshot');
    expect(tree).toMatch(/└─ v_4 improve of v_3 \[ok\] score=.*★ best/); // bon: one draft, then improvements of the best
  });
});
