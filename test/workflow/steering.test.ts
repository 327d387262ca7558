// Pause, resume, stop, extend and retry-node against the real workflow code, with recorded stub activities.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  extendUpdate,
  pauseSignal,
  resumeSignal,
  retryNodeUpdate,
  stopSignal,
  treeQuery,
} from '../../temporal/workflows/speedrun';
import {
  Gate,
  maybeRecordHistory,
  StubActivities,
  until,
  updateRejection,
  workflowTier,
  type WorkflowTier,
} from './harness';

let tier: WorkflowTier;
beforeAll(async () => void (tier = await workflowTier()));
afterAll(async () => tier?.teardown());

describe('steering a run', () => {
  it('pause holds before the next LLM call and execution; resume goes on', async () => {
    const stubs = new StubActivities();
    const gate = new Gate();
    stubs.gates.set(1, gate);
    const run = await tier.start(stubs, ['science_runner=bon', 'n_iterations=3']);
    await until('v_1 executing', () => stubs.calls.some((c) => c.name === 'execute' && c.nodeId === 1));
    await run.handle.signal(pauseSignal);
    gate.open();
    await until('paused phase with v_1 recorded', async () => {
      const s = await run.state();
      return s.phase === 'paused' && stubs.calls.some((c) => c.name === 'recordProgress' && c.nodeId === 1);
    });
    const before = stubs.calls.length;
    // An update is a workflow task: had the held loop gone on, this task would have scheduled its next step.
    expect(await run.handle.executeUpdate(extendUpdate, { args: [1] })).toBe(4);
    expect(await run.state()).toMatchObject({ phase: 'paused', paused: true, n_iterations: 4 });
    expect(stubs.calls.slice(before).filter((c) => c.name !== 'recordProgress')).toEqual([]);
    await run.handle.signal(resumeSignal);
    const result = await run.finished();
    expect(result.nodes).toBe(5);
    expect(stubs.count('proposeHypothesis')).toBe(4);
    await maybeRecordHistory(run, 'steer-pause-extend-resume');
  });

  it('a run paused in its last iteration holds and can still be extended', async () => {
    const stubs = new StubActivities();
    const gate = new Gate();
    stubs.gates.set(1, gate);
    const run = await tier.start(stubs, ['science_runner=bon', 'n_iterations=1']);
    await until('v_1 executing', () => stubs.calls.some((c) => c.name === 'execute' && c.nodeId === 1));
    await run.handle.signal(pauseSignal);
    gate.open();
    await until('held after the last iteration', async () => {
      const s = await run.state();
      return (
        s.phase === 'paused' &&
        s.iteration === 1 &&
        stubs.calls.some((c) => c.name === 'recordProgress' && c.nodeId === 1)
      );
    });
    expect((await run.handle.describe()).status.name).toBe('RUNNING');
    await run.handle.executeUpdate(extendUpdate, { args: [1] });
    await run.handle.signal(resumeSignal);
    expect((await run.finished()).nodes).toBe(3);
  });

  it('stop lets the version in flight finish, then completes with the reason', async () => {
    const stubs = new StubActivities();
    const gate = new Gate();
    stubs.gates.set(2, gate);
    const run = await tier.start(stubs, ['science_runner=bon', 'n_iterations=10']);
    await until('v_2 executing', () => stubs.calls.some((c) => c.name === 'execute' && c.nodeId === 2));
    await run.handle.signal(stopSignal, 'enough');
    gate.open();
    const result = await run.finished();
    expect(result).toMatchObject({ stopped: 'enough', nodes: 3 });
    expect(stubs.count('analyzeVersion')).toBe(3); // v_2 was measured before the run ended
    expect(stubs.count('proposeHypothesis')).toBe(2);
    await maybeRecordHistory(run, 'steer-stop');
  });

  it('extend rejects a count that is not a positive whole number, before anything is recorded', async () => {
    const stubs = new StubActivities();
    const gate = new Gate();
    stubs.gates.set(1, gate);
    const run = await tier.start(stubs, ['science_runner=bon', 'n_iterations=1']);
    await until('v_1 executing', () => stubs.calls.some((c) => c.name === 'execute' && c.nodeId === 1));
    expect(await updateRejection(run.handle.executeUpdate(extendUpdate, { args: [0] }))).toMatch(
      /positive whole number/,
    );
    expect(await updateRejection(run.handle.executeUpdate(extendUpdate, { args: [1.5] }))).toMatch(
      /positive whole number/,
    );
    expect((await run.state()).n_iterations).toBe(1);
    gate.open();
    expect((await run.finished()).nodes).toBe(2);
  });

  it('retry-node measures a version again, keeps the old result and refuses unknown or busy nodes', async () => {
    const stubs = new StubActivities((id, rerun) => ({ metric: rerun ? 50 : 100 - id }));
    const gate = new Gate();
    stubs.gates.set(2, gate);
    const run = await tier.start(stubs, ['science_runner=bon', 'n_iterations=2']);
    await until('v_2 executing', () => stubs.calls.some((c) => c.name === 'execute' && c.nodeId === 2));
    expect(await updateRejection(run.handle.executeUpdate(retryNodeUpdate, { args: [9] }))).toMatch(/has no node 9/);
    expect(await updateRejection(run.handle.executeUpdate(retryNodeUpdate, { args: [2] }))).toMatch(
      /already being measured/,
    );
    expect(await run.handle.executeUpdate(retryNodeUpdate, { args: [1] })).toMatch(/v_1 will execute again/);
    gate.open();
    await run.finished();
    const reruns = stubs.calls.filter((c) => c.name === 'execute' && c.rerun);
    expect(reruns.map((c) => c.nodeId)).toEqual([1]);
    const tree = await run.handle.query(treeQuery);
    expect(tree.nodes[1].metrics).toEqual({ harness_wall_ms: 50 });
    expect(tree.nodes[1].previous).toEqual([
      expect.objectContaining({ status: 'ok', metrics: { harness_wall_ms: 99 } }),
    ]);
    await maybeRecordHistory(run, 'steer-retry-node');
  });
});
