// The tree policies (core/policies/) on a synthetic objective: a simulated run where each child's time
// is its parent's times a noisy factor and some children break. Deterministic under the seed.
import { describe, expect, it } from 'vitest';
import { planBirths, type Birth, type TreePolicy, type TreePolicyConfig } from '../../core/policies/index';
import { backup, planMcts, uct } from '../../core/policies/mcts';
import { fitnessProportional, planEvolutionary } from '../../core/policies/evolutionary';
import { maxBackup, planPuct, rankPrior } from '../../core/policies/puct';
import { rewardOf } from '../../core/policies/plan';
import { bestNode, speedup, type Objective } from '../../core/policy';
import { randomStream } from '../../core/random';
import type { NodeRecord } from '../../core/types';
import { noUsage } from '../../core/usage';

const OBJ: Objective = { selection_metric: 'time', lower_is_better: true };
const CFG: TreePolicyConfig = {
  n_initial_hypotheses: 5,
  n_hypotheses: 5,
  debug_prob: 0.25,
  max_bug_depth: 3,
  uct_c: 0.25,
  crossover_prob: 0.5,
  num_generations_till_crossover: 2,
  selection_temperature: 1,
  puct_c: 1,
};

function node(
  id: number,
  parent: number | null,
  stage: NodeRecord['stage'],
  iteration: number,
  time?: number,
  extra: Partial<NodeRecord> = {},
): NodeRecord {
  const valid = time !== undefined;
  return {
    id,
    parent,
    stage,
    iteration,
    plan: `plan ${id}`,
    snapshot: `snap${id}`,
    status: valid ? 'ok' : 'buggy',
    valid,
    metrics: valid ? { time } : {},
    timings: { started_at: '2026-01-01T00:00:00Z', llm_ms: 0, exec_ms: 0 },
    usage: noUsage(),
    ...extra,
  };
}

/**
 * A run of `policy` on the synthetic objective: a child's time is its parent's (the better parent's,
 * for a crossover, with a bonus) times a factor in [0.8, 1.15); a child breaks with probability 0.2,
 * and a debug fixes its parent with probability 0.7. The objective's noise has its own seed.
 */
function simulate(policy: TreePolicy, seed: number, iterations: number, cfg = CFG, maxNodes = 40) {
  const noise = randomStream(1000 + seed);
  const nodes = [node(0, null, 'root', 0, 100)];
  let rng = seed;
  const plans: Birth[][] = [];
  for (let it = 1; it <= iterations && nodes.length - 1 < maxNodes; it++) {
    const plan = planBirths(policy, nodes, cfg, OBJ, it, rng, maxNodes - (nodes.length - 1));
    rng = plan.rng;
    plans.push(plan.births);
    for (const b of plan.births) {
      for (let k = 0; k < b.count; k++) {
        const base = b.stage === 'debug' ? nodes[nodes[b.parent].parent!] : nodes[b.parent];
        const from =
          b.second === undefined
            ? (base.metrics.time ?? 100)
            : Math.min(base.metrics.time, nodes[b.second].metrics.time) * 0.95;
        const broken = b.stage === 'debug' ? noise() > 0.7 : noise() < 0.2;
        const time = broken ? undefined : Math.round(from * (0.8 + 0.35 * noise()) * 100) / 100;
        nodes.push(
          node(
            nodes.length,
            b.parent,
            b.stage,
            it,
            time,
            b.second === undefined ? {} : { parents: [b.parent, b.second] },
          ),
        );
      }
    }
  }
  return { nodes, plans };
}

const shape = (nodes: NodeRecord[]) => nodes.map((n) => `${n.id}<${n.parent}:${n.stage}`).join(' ');

describe('the tree policies on a synthetic objective', () => {
  for (const policy of ['mcts', 'evolutionary', 'puct'] as const) {
    it(`${policy}: the same seed makes the same tree; it finds a faster version than the root`, () => {
      const a = simulate(policy, 7, 8);
      const b = simulate(policy, 7, 8);
      expect(shape(a.nodes)).toBe(shape(b.nodes));
      expect(a.nodes.map((n) => n.metrics.time)).toEqual(b.nodes.map((n) => n.metrics.time));
      expect(a.nodes.length).toBeGreaterThan(10);
      expect(speedup(a.nodes[0], bestNode(a.nodes, OBJ), OBJ)).toBeGreaterThan(1.2);
      expect(a.plans[0]).toEqual([{ stage: 'draft', parent: 0, count: 5 }]); // the first iteration drafts from the root
    });

    it(`${policy}: never plans past max_n_nodes`, () => {
      const { nodes } = simulate(policy, 3, 50, CFG, 13);
      expect(nodes.length - 1).toBe(13);
    });
  }

  it('evolutionary: different seeds grow different trees', () => {
    const shapes = new Set([1, 2, 3, 4].map((s) => shape(simulate('evolutionary', s, 6).nodes)));
    expect(shapes.size).toBeGreaterThan(1);
  });
});

describe('MCTS', () => {
  // root 100; drafts 1 (80), 2 (buggy), 3 (50); 4 and 5 improve 1 (90, 70).
  const nodes = [
    node(0, null, 'root', 0, 100),
    node(1, 0, 'draft', 1, 80),
    node(2, 0, 'draft', 1),
    node(3, 0, 'draft', 1, 50),
    node(4, 1, 'improve', 2, 90),
    node(5, 1, 'improve', 2, 70),
  ];

  it('backs each reward up its ancestors as an empirical mean (reward = best / time, buggy 0)', () => {
    const stats = backup(nodes, OBJ);
    expect(stats[0].visits).toBe(6);
    expect(stats[1]).toEqual({ visits: 3, value: (50 / 80 + 50 / 90 + 50 / 70) / 3 });
    expect(stats[2]).toEqual({ visits: 1, value: 0 });
    expect(stats[3]).toEqual({ visits: 1, value: 1 });
  });

  it('descends by UCT to a leaf and expands it with n_hypotheses children; a buggy leaf gets one debug', () => {
    const stats = backup(nodes, OBJ);
    const c = 0.25;
    expect(uct(stats[3], 6, c)).toBeGreaterThan(uct(stats[1], 6, c));
    expect(planMcts(nodes, CFG, OBJ, 1).births).toEqual([{ stage: 'improve', parent: 3, count: 5 }]);
    // Without v_3: at c = 0.25 the descent goes into v_1 and expands its best leaf; at c = 10 the
    // less visited buggy draft's bonus wins, and it is debugged once.
    const noV3 = nodes
      .filter((n) => n.id !== 3)
      .map((n, i) => ({ ...n, id: i, parent: n.parent === null ? null : n.parent > 3 ? n.parent - 1 : n.parent }));
    expect(planMcts(noV3, CFG, OBJ, 1).births).toEqual([{ stage: 'improve', parent: 4, count: 5 }]);
    expect(planMcts(noV3, { ...CFG, uct_c: 10 }, OBJ, 1).births).toEqual([{ stage: 'debug', parent: 2, count: 1 }]);
  });

  it('skips subtrees with nothing to expand, and drafts afresh when every one is closed', () => {
    const closed = [
      node(0, null, 'root', 0, 100),
      node(1, 0, 'draft', 1, undefined, { snapshot: undefined }),
      node(2, 0, 'draft', 1, 60),
    ];
    expect(planMcts(closed, CFG, OBJ, 1).births).toEqual([{ stage: 'improve', parent: 2, count: 5 }]);
    const allClosed = closed.slice(0, 2);
    expect(planMcts(allClosed, CFG, OBJ, 1).births).toEqual([{ stage: 'draft', parent: 0, count: 5 }]);
  });
});

describe('evolutionary', () => {
  const gen1 = [
    node(0, null, 'root', 0, 100),
    node(1, 0, 'draft', 1, 80),
    node(2, 0, 'draft', 1, 40),
    node(3, 0, 'draft', 1),
  ];

  it('draws parents fitness-proportionally: the fitter version more often', () => {
    const fitness = rewardOf(gen1, OBJ);
    const counts = new Map<number, number>();
    let rng = 5;
    for (let i = 0; i < 2000; i++) {
      const d = fitnessProportional([gen1[0], gen1[1], gen1[2]], fitness, 1, rng);
      rng = d.rng;
      counts.set(d.pick.id, (counts.get(d.pick.id) ?? 0) + 1);
    }
    expect(counts.get(2)!).toBeGreaterThan(counts.get(1)!);
    expect(counts.get(1)!).toBeGreaterThan(counts.get(0)!);
    // exp(1) / (exp(0.4) + exp(0.5) + exp(1)) of the draws go to v_2.
    expect(counts.get(2)! / 2000).toBeCloseTo(Math.exp(1) / (Math.exp(0.4) + Math.exp(0.5) + Math.exp(1)), 1);
  });

  it('crosses over only from num_generations_till_crossover on, two distinct parents, the fitter first', () => {
    const cfg = { ...CFG, crossover_prob: 1, debug_prob: 0 };
    expect(planEvolutionary(gen1, cfg, OBJ, 2, 9).births.every((b) => b.stage !== 'crossover')).toBe(true); // generation 1
    const gen2 = planEvolutionary(gen1, cfg, OBJ, 3, 9).births;
    expect(gen2.reduce((a, b) => a + b.count, 0)).toBe(5);
    for (const b of gen2) {
      expect(b.stage).toBe('crossover');
      expect(b.second).not.toBe(b.parent);
      const fitness = rewardOf(gen1, OBJ);
      expect(fitness(gen1[b.parent])).toBeGreaterThanOrEqual(fitness(gen1[b.second!]));
    }
  });

  it('repairs a buggy version at most once a generation, and drafts when nothing is valid', () => {
    const broken = [node(0, null, 'root', 0, undefined, { status: 'ok' }), node(1, 0, 'draft', 1)];
    const births = planEvolutionary(broken, { ...CFG, debug_prob: 1 }, OBJ, 2, 4).births;
    expect(births).toEqual([
      { stage: 'debug', parent: 1, count: 1 },
      { stage: 'draft', parent: 0, count: 4 },
    ]);
  });
});

describe('PUCT', () => {
  it('ranks the prior by reward, ties sharing the better rank', () => {
    expect(rankPrior([1, 0.5, 0.5, 0])).toEqual([4 / 11, 3 / 11, 3 / 11, 1 / 11]);
  });

  it("backs up the subtree's best reward (a max, not a mean)", () => {
    const nodes = [
      node(0, null, 'root', 0, 100),
      node(1, 0, 'draft', 1, 80),
      node(2, 1, 'improve', 2, 40),
      node(3, 1, 'improve', 2, 95),
    ];
    expect(maxBackup(nodes, OBJ)).toEqual([1, 1, 1, 40 / 95]);
  });

  it("spreads one iteration's picks: each counts as an expansion at once", () => {
    const nodes = [
      node(0, null, 'root', 0, 100),
      node(1, 0, 'draft', 1, 50),
      node(2, 0, 'draft', 1, 52),
      node(3, 0, 'draft', 1, 90),
    ];
    const { births } = planPuct(nodes, { ...CFG, n_hypotheses: 3 }, OBJ, 1);
    expect(births.reduce((a, b) => a + b.count, 0)).toBe(3);
    expect(new Set(births.map((b) => b.parent)).size).toBeGreaterThan(1); // not all three on the best
    expect(births.every((b) => b.stage === 'improve')).toBe(true);
  });
});
