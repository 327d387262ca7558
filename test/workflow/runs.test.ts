// The loop itself against the real workflow code: outcomes, parallel hypotheses, pipelining, budgets and
// continue-as-new, with recorded stub activities.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extendUpdate, treeQuery } from '../../temporal/workflows/speedrun';
import { Gate, maybeRecordHistory, StubActivities, until, workflowTier, type WorkflowTier } from './harness';

let tier: WorkflowTier;
beforeAll(async () => void (tier = await workflowTier()));
afterAll(async () => tier?.teardown());

describe('the search loop', () => {
  it('records every outcome: a failed write, a crash, a timeout and a better version', async () => {
    const outcomes = {
      1: { writeFails: 'no applicable edit' },
      2: { status: 'crashed' as const },
      3: { status: 'timeout' as const },
      4: { metric: 10 },
    };
    const stubs = new StubActivities((id) => outcomes[id as keyof typeof outcomes] ?? { metric: 100 - id });
    const run = await tier.start(stubs, ['science_runner=bon', 'n_iterations=4']);
    const result = await run.finished();
    const tree = await run.handle.query(treeQuery);
    expect(tree.nodes.map((n) => n.status)).toEqual(['ok', 'buggy', 'crashed', 'timeout', 'ok']);
    expect(tree.nodes[1].reason).toBe('no applicable edit');
    expect(stubs.calls.filter((c) => c.name === 'execute').map((c) => c.nodeId)).toEqual([0, 2, 3, 4]);
    expect(result).toMatchObject({ nodes: 5, buggy: 3, best: { id: 4, metric: 10 } });
    await maybeRecordHistory(run, 'loop-every-outcome');
  });

  it('records a version whose diff breaks a static integrity rule as buggy, without executing it', async () => {
    const broken = [{ rule: 'val.tokens', detail: 'val_tokens set to 1048576, the task uses 10485760' }];
    const stubs = new StubActivities((id) => (id === 1 ? { violations: broken } : { metric: 100 - id }));
    const run = await tier.start(stubs, ['science_runner=bon', 'n_iterations=2']);
    await run.finished();
    const tree = await run.handle.query(treeQuery);
    expect(tree.nodes[1]).toMatchObject({
      status: 'buggy',
      valid: false,
      violations: broken,
      reason: `integrity: val.tokens: ${broken[0].detail}`,
    });
    expect(stubs.calls.filter((c) => c.name === 'execute').map((c) => c.nodeId)).toEqual([0, 2]);
  });

  it("executes an iteration's hypotheses in parallel and waits for all of them without pipeline", async () => {
    const stubs = new StubActivities();
    const gates = [1, 2, 3].map((id) => {
      const g = new Gate();
      stubs.gates.set(id, g);
      return g;
    });
    const run = await tier.start(stubs, ['science_runner=forest', 'n_iterations=2']);
    await until('three drafts executing at once', () => stubs.count('execute') === 4);
    expect(await run.handle.executeUpdate(extendUpdate, { args: [1] })).toBe(3); // a workflow task while all three wait
    expect(stubs.count('proposeHypothesis')).toBe(3);
    gates[0].open();
    gates[1].open();
    await until('two drafts analyzed', () => stubs.count('analyzeVersion') === 3);
    expect(await run.handle.executeUpdate(extendUpdate, { args: [1] })).toBe(4);
    expect(stubs.count('proposeHypothesis')).toBe(3); // the next iteration waits for the third
    gates[2].open();
    const result = await run.finished();
    expect(result.nodes).toBe(1 + 3 * 4);
    await maybeRecordHistory(run, 'loop-forest-parallel');
  });

  it('with pipeline, plans the next iteration while executions are in flight, up to max_outstanding_executions', async () => {
    const stubs = new StubActivities();
    const gates = [1, 2].map((id) => {
      const g = new Gate();
      stubs.gates.set(id, g);
      return g;
    });
    const run = await tier.start(stubs, [
      'science_runner=bon',
      'n_iterations=3',
      'pipeline=true',
      'max_outstanding_executions=2',
    ]);
    await until(
      'v_1 and v_2 executing at once',
      () => stubs.calls.filter((c) => c.name === 'execute' && c.nodeId && c.nodeId <= 2).length === 2,
    );
    expect(await run.handle.executeUpdate(extendUpdate, { args: [1] })).toBe(4);
    expect(stubs.count('proposeHypothesis')).toBe(2); // two in flight: the third waits
    gates[0].open();
    await until('v_3 proposed while v_2 still executes', () => stubs.count('proposeHypothesis') === 3);
    expect(stubs.count('analyzeVersion')).toBe(2); // root and v_1
    gates[1].open();
    expect((await run.finished()).nodes).toBe(5);
    await maybeRecordHistory(run, 'loop-pipeline');
  });

  it('stops at budget.usd, budget.gpu_seconds and budget.wall_clock_s and says which', async () => {
    const usd = await tier.start(new StubActivities(() => ({ metric: 1, costUsd: 0.3 })), [
      'science_runner=bon',
      'n_iterations=10',
      'budget.usd=0.5',
    ]);
    expect(await usd.finished()).toMatchObject({ nodes: 2, stopped: 'budget: LLM spend $0.60 reached budget.usd=0.5' });
    const gpu = await tier.start(new StubActivities(() => ({ metric: 1, wallMs: 10 })), [
      'science_runner=bon',
      'n_iterations=10',
      'budget.gpu_seconds=0.015',
    ]);
    expect(await gpu.finished()).toMatchObject({
      nodes: 2,
      stopped: 'budget: 0.0 GPU-seconds reached budget.gpu_seconds=0.015',
    });
    const wall = await tier.start(new StubActivities(), [
      'science_runner=bon',
      'n_iterations=10',
      'budget.wall_clock_s=0.000001',
    ]);
    expect((await wall.finished()).stopped).toMatch(
      /^budget: \d+ s of wall clock reached budget.wall_clock_s=0.000001$/,
    );
    await maybeRecordHistory(usd, 'loop-budget-usd');
  });

  it('continues as new every K iterations and carries the tree, each node once', async () => {
    const stubs = new StubActivities();
    const run = await tier.start(stubs, ['science_runner=bon', 'n_iterations=5', 'continue_as_new_every=2']);
    const firstRunId = run.handle.firstExecutionRunId;
    const result = await run.finished();
    expect(result.nodes).toBe(6);
    const tree = await run.handle.query(treeQuery);
    expect(tree.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(tree.iteration).toBe(5);
    const first = await tier.env.client.workflow.getHandle(run.handle.workflowId, firstRunId).fetchHistory();
    expect(first.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect((await run.handle.describe()).runId).not.toBe(firstRunId);
    expect(stubs.count('prepareRun')).toBe(1); // the config is stored once for the whole chain
    expect(stubs.count('execute')).toBe(6);
  });
});
