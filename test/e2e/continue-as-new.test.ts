import { describe, expect, inject, it } from 'vitest';
import { cli, connect, makeEnv, waitFor } from '../helpers/harness';

// A long run continues-as-new every `continue_as_new_every` iterations, carrying its tree: the chain of
// workflow runs must end with every node once, as if it had been one run.
describe('continue-as-new', () => {
  it('carries the tree, the RNG and the usage across workflow runs', async () => {
    const t = makeEnv(inject('temporalPort'));
    const res = await cli(t, [
      'run', 'task=collatz', 'model=scripted', 'science_runner=aide', 'seed=5', 'n_iterations=5', 'continue_as_new_every=2', '--json',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ status: 'COMPLETED', nodes: 6 });
    // 5 iterations in runs of at most 2 → the final run was continued from an earlier one, twice over.
    const client = await connect(t.port);
    let handle = client.workflow.getHandle(out.runId);
    let chain = 1;
    for (;;) {
      const { events } = await handle.fetchHistory();
      const previous = events![0].workflowExecutionStartedEventAttributes!.continuedExecutionRunId;
      if (!previous) break;
      chain++;
      handle = client.workflow.getHandle(out.runId, previous);
    }
    expect(chain).toBe(3);
    const tree = JSON.parse((await cli(t, ['tree', out.runId, '--json'])).stdout);
    expect(tree.nodes.map((n: { id: number }) => n.id)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(tree.nodes.map((n: { iteration: number }) => n.iteration)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const n of tree.nodes) expect(n.status).not.toBe('pending');
    expect(out.usage.calls).toBeGreaterThanOrEqual(10); // every iteration's calls, not only the last run's

    // Search attributes carry over continue-as-new: `ls` finds the run by them, as the UI's filter would.
    const listed = await waitFor('the run listed by its search attributes', async () => {
      const rows = JSON.parse((await cli(t, ['ls', `Task="collatz" AND Phase="done" AND Seed=5`, '--json'])).stdout);
      return rows.find((r: { runId: string }) => r.runId === out.runId);
    }, 30_000);
    expect(listed).toMatchObject({ status: 'COMPLETED', task: 'collatz', model: 'scripted', science_runner: 'aide', phase: 'done', iteration: 5, best_metric: out.best.metric });
    const bad = await cli(t, ['ls', 'Task=']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/error: /);
  });
});
