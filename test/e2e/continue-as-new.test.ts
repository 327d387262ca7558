import { describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { temporal } from '@temporalio/proto';
import { cli, connect, makeEnv, waitFor } from '../helpers/harness';

// A long run continues-as-new every `continue_as_new_every` iterations, carrying its tree: the chain of
// workflow runs must end with every node once, as if it had been one run.
describe('continue-as-new', () => {
  it('carries the tree, the RNG and the usage across workflow runs', async () => {
    const t = makeEnv(inject('temporalPort'));
    const res = await cli(t, [
      'run',
      'task=collatz',
      'model=scripted',
      'science_runner=bon',
      'seed=5',
      'n_iterations=5',
      'continue_as_new_every=2',
      '--json',
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
    const listed = await waitFor(
      'the run listed by its search attributes',
      async () => {
        const rows = JSON.parse((await cli(t, ['ls', `Task="collatz" AND Phase="done" AND Seed=5`, '--json'])).stdout);
        return rows.find((r: { runId: string }) => r.runId === out.runId);
      },
      30_000,
    );
    expect(listed).toMatchObject({
      status: 'COMPLETED',
      task: 'collatz',
      model: 'scripted',
      science_runner: 'bon',
      phase: 'done',
      iteration: 5,
      best_metric: out.best.metric,
    });
    const bad = await cli(t, ['ls', 'Task=']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/error: /);
  });

  it('a 500-iteration run keeps every workflow run of its chain far below the history limits', async () => {
    const t = makeEnv(inject('temporalPort'));
    const res = await cli(
      t,
      [
        'run',
        'task=counter',
        'model=scripted',
        'model.script=test/fixtures/scripts/counter-faster.yaml',
        'science_runner=bon',
        'science_runner.max_n_nodes=1000',
        'n_iterations=500',
        'continue_as_new_every=50',
        'task.env.COUNTER_STEPS=1',
        '--json',
      ],
      { timeout: 1_500_000 },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ status: 'COMPLETED', nodes: 501, buggy: 0 });

    const client = await connect(t.port);
    const runs: { events: number; bytes: number; carried_bytes: number; carried_encoding: string }[] = [];
    for (let handle = client.workflow.getHandle(out.runId); ;) {
      const history = await handle.fetchHistory();
      // The tree carried into this run (about 1 KB per node as JSON) arrives gzipped once it is large.
      const carried = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
      runs.push({
        events: history.events!.length,
        bytes: temporal.api.history.v1.History.encode(history).finish().length,
        carried_bytes: carried.data!.length,
        carried_encoding: new TextDecoder().decode(carried.metadata!.encoding!),
      });
      const previous = history.events![0].workflowExecutionStartedEventAttributes!.continuedExecutionRunId;
      if (!previous) break;
      handle = client.workflow.getHandle(out.runId, previous);
    }
    expect(runs).toHaveLength(10);
    expect(runs[0]).toMatchObject({ carried_encoding: 'binary/gzip' }); // 450 nodes carried into the last run
    expect(runs[0].carried_bytes).toBeLessThan(100 * 1024);
    // A fork reads the run's config back from that gzipped start input.
    const fork = await cli(t, ['fork', out.runId, '--node', '5', 'n_iterations=1', '--json']);
    expect(fork.exitCode, fork.stderr).toBe(0);
    expect(JSON.parse(fork.stdout)).toMatchObject({ status: 'COMPLETED', nodes: 7 });
    const largest = { events: Math.max(...runs.map((r) => r.events)), bytes: Math.max(...runs.map((r) => r.bytes)) };
    // Measured numbers for the closing note and README (vitest prints them; the file keeps them).
    const report = {
      iterations: 500,
      workflow_runs: runs.length,
      largest,
      per_iteration: { events: largest.events / 50, bytes: Math.round(largest.bytes / 50) },
      last_carried_bytes: runs[0].carried_bytes,
    };
    console.log(`500-iteration history: ${JSON.stringify(report)}`);
    writeFileSync(join(t.home, 'history-size.json'), JSON.stringify({ ...report, runs }, null, 2));
    // Temporal warns at 10,240 events / 10 MB and suggests continue-as-new at 4,096 events / 4 MB.
    expect(largest.events).toBeLessThan(4096);
    expect(largest.bytes).toBeLessThan(4 * 1024 * 1024);
  }, 1_500_000);
});
