// The tree policies in the real workflow: the shape of the tree each grows from recorded stub
// activities, the children of one MCTS expansion executing at once, and a crossover's second parent
// reaching the ideator and the coder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planMcts } from '../../core/policies/mcts';
import type { NodeRecord } from '../../core/types';
import { treeQuery } from '../../temporal/workflows/speedrun';
import {
  Gate,
  maybeRecordHistory,
  StubActivities,
  until,
  workflowTier,
  type Outcome,
  type WorkflowTier,
} from './harness';

let tier: WorkflowTier;
beforeAll(async () => void (tier = await workflowTier()));
afterAll(async () => tier?.teardown());

/** Stubs that also note which second parent each crossover's ideator and coder were given. */
class CrossoverStubs extends StubActivities {
  readonly secondParents: { name: string; nodeId: number; second: number }[] = [];
  constructor(outcomeOf?: (id: number, rerun: boolean) => Outcome) {
    super(outcomeOf);
  }
  override control() {
    const base = super.control();
    const note = (name: string, input: { nodeId: number; secondParent?: { id: number } }) => {
      if (input.secondParent) this.secondParents.push({ name, nodeId: input.nodeId, second: input.secondParent.id });
    };
    return {
      ...base,
      proposeHypothesis: async (input: { nodeId: number; secondParent?: { id: number } }) => (
        note('proposeHypothesis', input),
        base.proposeHypothesis(input)
      ),
      writeVersion: async (input: { nodeId: number; secondParent?: { id: number } }) => (
        note('writeVersion', input),
        base.writeVersion(input)
      ),
    };
  }
}

/** Each iteration's nodes as `parent:stage×count` groups, in order. */
function iterationsOf(nodes: NodeRecord[]): string[][] {
  const out: string[][] = [];
  for (const n of nodes.slice(1)) {
    const groups = (out[n.iteration - 1] ??= []);
    const key = `${n.parent}:${n.stage}`;
    const last = groups[groups.length - 1];
    if (last?.startsWith(`${key}×`)) groups[groups.length - 1] = `${key}×${Number(last.split('×')[1]) + 1}`;
    else groups.push(`${key}×1`);
  }
  return out;
}

describe('tree policies in the workflow', () => {
  it('mcts: expands one node a step with 5 children executing at once, where UCT points', async () => {
    const stubs = new StubActivities(); // v_k measures 100 - k: every newer version is faster
    const gates = [1, 2, 3, 4, 5].map((id) => {
      const g = new Gate();
      stubs.gates.set(id, g);
      return g;
    });
    const run = await tier.start(stubs, ['science_runner=mcts', 'n_iterations=4']);
    await until('the five drafts executing at once', () => stubs.count('execute') === 6);
    expect(stubs.count('analyzeVersion')).toBe(1); // only the root's
    for (const g of gates) g.open();
    const result = await run.finished();
    const tree = await run.handle.query(treeQuery);
    // 5 drafts; then the fastest draft (v_5) is expanded; then UCT (c = 0.25) prefers the less visited
    // v_4 to v_5's well-explored subtree; a fourth expansion fills max_n_nodes = 20.
    const its = iterationsOf(tree.nodes);
    expect(its.slice(0, 3)).toEqual([['0:draft×5'], ['5:improve×5'], ['4:improve×5']]);
    expect(its[3]).toHaveLength(1);
    expect(result.nodes).toBe(21);
    // Each iteration's expansion is the pure policy's choice on the tree as it stood.
    for (let k = 2; k <= 4; k++) {
      const before = tree.nodes.filter((n) => n.iteration < k);
      const [birth] = planMcts(
        before,
        { ...run.config.science_runner },
        { selection_metric: 'harness_wall_ms', lower_is_better: true },
        0,
      ).births;
      expect(its[k - 1]).toEqual([`${birth.parent}:${birth.stage}×${birth.count}`]);
    }
    await maybeRecordHistory(run, 'policy-mcts');
  });

  it('evolutionary: generations of 5 from fitness-drawn parents, crossovers from the second on with both parents passed', async () => {
    const stubs = new CrossoverStubs((id) => (id === 2 || id === 8 ? { status: 'crashed' } : { metric: 100 - id }));
    const run = await tier.start(stubs, ['science_runner=evolutionary', 'n_iterations=4']);
    const result = await run.finished();
    const tree = await run.handle.query(treeQuery);
    expect(result.nodes).toBe(21);
    const byIteration = [1, 2, 3, 4].map((k) => tree.nodes.filter((n) => n.iteration === k));
    expect(byIteration.map((g) => g.length)).toEqual([5, 5, 5, 5]);
    expect(byIteration[0].every((n) => n.stage === 'draft' && n.parent === 0)).toBe(true);
    expect(byIteration[1].some((n) => n.stage === 'crossover')).toBe(false); // generation 1: not yet
    const crossovers = tree.nodes.filter((n) => n.stage === 'crossover');
    expect(crossovers.length).toBeGreaterThan(0);
    for (const c of crossovers) {
      expect(c.iteration).toBeGreaterThanOrEqual(3);
      expect(c.parents).toHaveLength(2);
      const [a, b] = c.parents!;
      expect(a).toBe(c.parent);
      expect(a).not.toBe(b);
      for (const p of [a, b]) expect(tree.nodes[p].valid).toBe(true); // parents come from the population
      expect(stubs.secondParents.filter((s) => s.nodeId === c.id)).toEqual([
        { name: 'proposeHypothesis', nodeId: c.id, second: b },
        { name: 'writeVersion', nodeId: c.id, second: b },
      ]);
    }
    expect(stubs.secondParents.every((s) => tree.nodes[s.nodeId].stage === 'crossover')).toBe(true);
    // Improvements and crossovers build on valid versions; debugs on the crashed ones.
    for (const n of tree.nodes.filter((n) => n.stage === 'improve')) expect(tree.nodes[n.parent!].valid).toBe(true);
    for (const n of tree.nodes.filter((n) => n.stage === 'debug')) expect([2, 8]).toContain(n.parent);
    await maybeRecordHistory(run, 'policy-evolutionary');
  });

  it('puct: 3 drafts, then 3 picks an iteration spread over the buffer', async () => {
    const stubs = new StubActivities();
    const run = await tier.start(stubs, ['science_runner=puct', 'n_iterations=4']);
    const result = await run.finished();
    const tree = await run.handle.query(treeQuery);
    const its = iterationsOf(tree.nodes);
    expect(its[0]).toEqual(['0:draft×3']);
    expect(result.nodes).toBe(1 + 3 * 4);
    for (const groups of its.slice(1)) {
      expect(groups.reduce((a, g) => a + Number(g.split('×')[1]), 0)).toBe(3);
      expect(groups.length).toBeGreaterThan(1); // the picks of one iteration go to more than one parent
    }
    await maybeRecordHistory(run, 'policy-puct');
  });
});
