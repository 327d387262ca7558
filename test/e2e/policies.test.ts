// The tree policies end to end: the CLI runs each on collatz with the scripted model (embedded mode,
// real executions), and the tree it records has the policy's shape.
import { describe, expect, inject, it } from 'vitest';
import { cli, makeEnv } from '../helpers/harness';

interface TreeNode {
  id: number;
  parent: number | null;
  parents?: number[];
  stage: string;
  iteration: number;
  valid: boolean;
}

async function runPolicy(policy: string, iterations: number) {
  const t = makeEnv(inject('temporalPort'));
  const res = await cli(t, [
    'run',
    'task=collatz',
    'model=scripted',
    `science_runner=${policy}`,
    `n_iterations=${iterations}`,
    '--json',
  ]);
  expect(res.exitCode, res.stderr).toBe(0);
  const out = JSON.parse(res.stdout);
  expect(out.status).toBe('COMPLETED');
  const tree = JSON.parse((await cli(t, ['tree', out.runId, '--json'])).stdout) as {
    nodes: TreeNode[];
    best: { speedup: number };
  };
  const iteration = (k: number) => tree.nodes.filter((n) => n.iteration === k);
  return { out, tree, iteration };
}

describe('tree policies on collatz with the scripted model', () => {
  it('mcts: 5 drafts, then 5 children of the one leaf UCT reaches; faster than the starting code', async () => {
    const { tree, iteration } = await runPolicy('mcts', 2);
    expect(iteration(1).map((n) => `${n.parent}:${n.stage}`)).toEqual(Array(5).fill('0:draft'));
    const second = iteration(2);
    expect(second).toHaveLength(5);
    expect(new Set(second.map((n) => n.parent)).size).toBe(1);
    expect(tree.nodes[second[0].parent!].valid).toBe(true);
    expect(tree.best.speedup).toBeGreaterThan(1);
  });

  it('evolutionary: generations of 5; crossovers of two valid parents from the second generation on', async () => {
    const { tree, iteration } = await runPolicy('evolutionary', 3);
    expect([1, 2, 3].map((k) => iteration(k).length)).toEqual([5, 5, 5]);
    expect(iteration(2).some((n) => n.stage === 'crossover')).toBe(false);
    const crossovers = tree.nodes.filter((n) => n.stage === 'crossover');
    expect(crossovers.length).toBeGreaterThan(0);
    for (const c of crossovers) {
      expect(c.parents).toHaveLength(2);
      expect(c.parents![0]).toBe(c.parent);
      for (const p of c.parents!) expect(tree.nodes[p].valid).toBe(true);
    }
    expect(tree.best.speedup).toBeGreaterThan(1);
  });

  it('puct: 3 drafts, then 3 picks an iteration from the buffer', async () => {
    const { tree, iteration } = await runPolicy('puct', 3);
    expect(iteration(1).map((n) => `${n.parent}:${n.stage}`)).toEqual(Array(3).fill('0:draft'));
    for (const k of [2, 3]) {
      expect(iteration(k)).toHaveLength(3);
      for (const n of iteration(k)) expect(n.parent).not.toBeNull();
    }
    expect(tree.best.speedup).toBeGreaterThan(1);
  });
});
