import { describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import type { RunConfig } from '../../src/config/schema';
import type { CodeResult } from '../../src/agent/steps';
import { loadScript, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import { noUsage } from '../../core/usage';
import type { NodeRecord } from '../../core/types';
import { ArtifactStore } from '../../src/store/artifact-store';
import { ROOT } from '../../src/paths';
import {
  cli,
  connect,
  FIXTURE_TASKS,
  makeEnv,
  sleep,
  startWorker,
  stopWorker,
  trackCleanups,
  waitFor,
  type TestEnv,
  type WorkerProcess,
} from '../helpers/harness';

// The agentic coder (coder=agent) as a real workflow on a real control worker: every model turn and
// tool call is an activity; the scripted model answers with native tool calls read → edit → check →
// finish. Killing the worker mid-loop must neither lose the work nor pay a finished turn twice.

const onCleanup = trackCleanups();

async function scripted(latencyMs: number): Promise<ScriptedServer> {
  const script = loadScript(join(ROOT, 'test/fixtures/scripts/agent-counter.yaml'));
  const server = await startScriptedServer({ ...script, latency_ms: latencyMs });
  onCleanup(() => server.close());
  return server;
}

async function worker(t: TestEnv): Promise<WorkerProcess> {
  const w = await startWorker(t, 'control', { OPENAI_API_KEY: 'sk-worker-secret' });
  onCleanup(() => stopWorker(w, 'SIGKILL'));
  return w;
}

/** The resolved config (through the CLI, as a run would get it) and the counter template stored as v_0. */
async function setUp(t: TestEnv, model: ScriptedServer) {
  const res = await cli(t, [
    'config',
    'show',
    'task=counter',
    'model=scripted',
    `model.base_url=${model.url}`,
    'coder=agent',
    'timeouts.llm_heartbeat_s=3',
  ]);
  expect(res.exitCode, res.stderr).toBe(0);
  const config = JSON.parse(res.stdout) as RunConfig;
  const store = new ArtifactStore(config.store);
  const root = await store.snapshotDir(join(FIXTURE_TASKS, 'workspace_templates', 'counter'));
  const parent: NodeRecord = {
    id: 0,
    parent: null,
    stage: 'root',
    iteration: 0,
    plan: 'the starting code',
    snapshot: root,
    status: 'ok',
    valid: true,
    metrics: {},
    timings: { started_at: new Date(0).toISOString(), llm_ms: 0, exec_ms: 0 },
    usage: noUsage(),
  };
  const planRef = await store.putBlob('Make counter.py finish sooner by shortening its delay.');
  return { config, store, parent, planRef };
}

async function startAgent(t: TestEnv, s: Awaited<ReturnType<typeof setUp>>, runId: string) {
  const client = await connect(t.port);
  return client.workflow.start('agentCoderWorkflow', {
    taskQueue: s.config.task_queue,
    workflowId: runId,
    args: [{ runId, config: s.config, nodeId: 1, parent: s.parent, planRef: s.planRef, history: [s.parent] }],
  });
}

async function expectCorrectVersion(s: Awaited<ReturnType<typeof setUp>>, result: CodeResult) {
  expect(result.error).toBeUndefined();
  expect(result.attempts).toBe(4); // read, edit, check, finish
  const after = await s.store.readSnapshotFiles(result.snapshot!, ['counter.py']);
  const before = await s.store.readSnapshotFiles(s.parent.snapshot!, ['counter.py']);
  expect(after['counter.py']).toBe(before['counter.py'].replace('DELAY = 0.25', 'DELAY = 0.05'));
}

describe('coder=agent', () => {
  it('reads, edits, checks and finishes through native tool calls, one activity per step', async () => {
    const t = makeEnv(inject('temporalPort'));
    const model = await scripted(0);
    await worker(t);
    const s = await setUp(t, model);
    const handle = await startAgent(t, s, `agent-plain-${Date.now()}`);
    const result = (await handle.result()) as CodeResult;
    await expectCorrectVersion(s, result);
    expect(model.requests.map((r) => r.rule)).toEqual(['agent-read', 'agent-edit', 'agent-check', 'agent-finish']);
    expect(result.usage.calls).toBe(4);
    // The history carries hashes, never the code the agent read or wrote.
    const history = JSON.stringify(await handle.fetchHistory());
    expect(history).not.toContain('DELAY = 0.05');
    expect(history).not.toContain('STEPS = int(');
    expect(history).not.toContain('sk-worker-secret');
    const types = (await handle.fetchHistory()).events!.flatMap(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
    );
    expect(types).toEqual([
      'agentStart',
      'agentTurn',
      'agentTool',
      'agentTurn',
      'agentTool',
      'agentTurn',
      'agentTool',
      'agentTurn',
      'agentFlags',
    ]);
  });

  it('resumes mid-loop after the control worker is killed, without paying a finished turn again', async () => {
    const t = makeEnv(inject('temporalPort'));
    // Slow replies, so the kill lands while the loop is between its second and last turn.
    const model = await scripted(1500);
    const first = await worker(t);
    const s = await setUp(t, model);
    const runId = `agent-kill-${Date.now()}`;
    const handle = await startAgent(t, s, runId);
    await waitFor('the second turn asked', () => model.requests.length >= 2, 120_000);
    await sleep(300);
    const askedBeforeKill = model.requests.length;
    await stopWorker(first, 'SIGKILL');
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await worker(t);
    const result = (await handle.result()) as CodeResult;
    await expectCorrectVersion(s, result);

    const bodies = model.requests.map((r) => JSON.stringify(r.body));
    // Every turn was asked; a request repeated after the kill can only be the one in flight then.
    expect(new Set(bodies).size).toBe(4);
    expect(model.requests.length).toBeLessThanOrEqual(5);
    const finishedBeforeKill = bodies.slice(0, askedBeforeKill - 1);
    for (const b of bodies.slice(askedBeforeKill)) expect(finishedBeforeKill).not.toContain(b);
    expect([...new Set(model.requests.map((r) => r.rule))]).toEqual([
      'agent-read',
      'agent-edit',
      'agent-check',
      'agent-finish',
    ]);

    // The same result as an uninterrupted loop: content-addressed, so the same hash.
    const again = await startAgent(t, s, `${runId}-again`);
    expect(((await again.result()) as CodeResult).snapshot).toBe(result.snapshot);
  });
});
