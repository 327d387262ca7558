import { describe, it, expect } from 'vitest';
import { nextRandom } from '../../core/random';
import {
  bestNode,
  bugDepth,
  chooseNext,
  planIteration,
  selectCurrent,
  speedup,
  type IterationConfig,
  type Objective,
  type PolicyConfig,
} from '../../core/policy';
import type { NodeRecord, NodeStatus, Stage } from '../../core/types';

const OBJ: Objective = { selection_metric: 'time', lower_is_better: true };
const AIDE: PolicyConfig = { n_initial_hypotheses: 2, debug_prob: 0.5, max_bug_depth: 3 };

interface Spec {
  parent?: number | null;
  stage?: Stage;
  valid?: boolean;
  status?: NodeStatus;
  time?: number;
  snapshot?: string | null;
}

/** A tree from specs; node ids are array indices (node 0 is the root). */
function tree(...specs: Spec[]): NodeRecord[] {
  return specs.map((s, id): NodeRecord => {
    const valid = s.valid ?? false;
    const metrics: Record<string, number> = s.time !== undefined ? { time: s.time } : {};
    return {
      id,
      parent: id === 0 ? null : (s.parent ?? 0),
      stage: id === 0 ? 'root' : (s.stage ?? 'draft'),
      iteration: id,
      plan: `plan ${id}`,
      snapshot: s.snapshot === null ? undefined : (s.snapshot ?? `snap${id}`),
      status: s.status ?? (valid ? 'ok' : 'buggy'),
      valid,
      metrics,
      timings: { started_at: '2025-01-01T00:00:00Z', llm_ms: 0, exec_ms: 0 },
      usage: { input_tokens: 0, output_tokens: 0, cached_input_tokens: 0, cost_usd: 0, calls: 0 },
    };
  });
}

/** Every choice over many RNG states. */
function choicesOver(nodes: NodeRecord[], cfg: PolicyConfig, obj = OBJ, n = 300) {
  return Array.from({ length: n }, (_, seed) => chooseNext(nodes, cfg, obj, seed * 7919 + 1).choice);
}

describe('nextRandom', () => {
  it('is deterministic for a state, returns a new 32-bit state, and stays in [0, 1)', () => {
    expect(nextRandom(42)).toEqual(nextRandom(42));
    expect(nextRandom(42)[0]).not.toBe(nextRandom(43)[0]);
    let state = 12345;
    let sum = 0;
    const seen = new Set<number>();
    const N = 20_000;
    let min = Infinity;
    let max = -Infinity;
    let badStates = 0;
    for (let i = 0; i < N; i++) {
      const [r, next] = nextRandom(state);
      min = Math.min(min, r);
      max = Math.max(max, r);
      if (!Number.isInteger(next) || next !== (next | 0)) badStates++;
      sum += r;
      seen.add(r);
      state = next;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(min).toBeLessThan(0.01);
    expect(max).toBeGreaterThan(0.99);
    expect(badStates).toBe(0);
    expect(Math.abs(sum / N - 0.5)).toBeLessThan(0.02);
    expect(seen.size).toBeGreaterThan(N * 0.99);
  });

  it('produces the same sequence from the same seed (replay)', () => {
    const seq = (seed: number) => {
      const out: number[] = [];
      let s = seed;
      for (let i = 0; i < 50; i++) {
        const [r, n] = nextRandom(s);
        out.push(r);
        s = n;
      }
      return out;
    };
    expect(seq(7)).toEqual(seq(7));
    expect(seq(7)).not.toEqual(seq(8));
  });
});

describe('chooseNext: drafting', () => {
  it('drafts from the root until n_initial_hypotheses drafts exist, without using the RNG', () => {
    const cfg = { ...AIDE, n_initial_hypotheses: 3, debug_prob: 1 };
    let nodes = tree({ valid: true, time: 10 });
    for (let i = 0; i < 3; i++) {
      const { choice, rng } = chooseNext(nodes, cfg, OBJ, 99);
      expect(choice).toEqual({ stage: 'draft', parent: 0 });
      expect(rng).toBe(99);
      // even buggy drafts count as drafts
      nodes = tree(...nodes.map(toSpec), { stage: 'draft', valid: false });
    }
    const { choice } = chooseNext(nodes, cfg, OBJ, 99);
    expect(choice.stage).not.toBe('draft');
  });

  it('improve/debug nodes do not count as drafts', () => {
    const nodes = tree(
      { valid: true, time: 10 },
      { valid: true, time: 5 },
      { parent: 1, stage: 'improve', valid: true, time: 4 },
    );
    expect(chooseNext(nodes, { ...AIDE, n_initial_hypotheses: 2 }, OBJ, 1).choice).toEqual({
      stage: 'draft',
      parent: 0,
    });
  });

  it('drafts when no node is valid (root included) and none can be debugged', () => {
    const nodes = tree({ valid: false }, { valid: false, snapshot: null }, { valid: false, snapshot: null });
    for (const dp of [0, 1]) {
      for (const c of choicesOver(nodes, { ...AIDE, n_initial_hypotheses: 2, debug_prob: dp }, OBJ, 50)) {
        expect(c).toEqual({ stage: 'draft', parent: 0 });
      }
    }
  });
});

function toSpec(n: NodeRecord): Spec {
  return {
    parent: n.parent,
    stage: n.stage,
    valid: n.valid,
    status: n.status,
    time: n.metrics.time,
    snapshot: n.snapshot ?? null,
  };
}

describe('chooseNext: debugging', () => {
  const cfg: PolicyConfig = { n_initial_hypotheses: 1, debug_prob: 1, max_bug_depth: 3 };

  it('debug_prob=1 picks only buggy leaves with a snapshot, and eventually each of them', () => {
    const nodes = tree(
      { valid: true, time: 100 }, // 0 root
      { stage: 'draft', valid: false }, // 1 buggy, has a child (3) → not a leaf
      { stage: 'draft', valid: true, time: 50 }, // 2 valid
      { parent: 1, stage: 'debug', valid: false }, // 3 buggy leaf ✓
      { parent: 2, stage: 'improve', valid: false, snapshot: null }, // 4 no snapshot (edit failed) ✗
      { parent: 2, stage: 'improve', valid: false, status: 'timeout' }, // 5 timed-out leaf ✓
      { parent: 2, stage: 'improve', valid: false, status: 'pending' }, // 6 still pending ✗
      { parent: 2, stage: 'improve', valid: false, status: 'crashed' }, // 7 crashed leaf ✓
    );
    const picked = new Set<number>();
    for (const c of choicesOver(nodes, cfg)) {
      expect(c.stage).toBe('debug');
      picked.add(c.parent);
    }
    expect([...picked].sort()).toEqual([3, 5, 7]);
  });

  it('never debugs a chain deeper than max_bug_depth', () => {
    const nodes = tree(
      { valid: true, time: 100 }, // 0
      { stage: 'draft', valid: true, time: 80 }, // 1 valid
      { parent: 1, stage: 'improve', valid: false }, // 2 depth 1
      { parent: 2, stage: 'debug', valid: false }, // 3 depth 2
      { parent: 3, stage: 'debug', valid: false }, // 4 depth 3 → leaf, allowed
      { stage: 'draft', valid: false }, // 5 depth 1
      { parent: 5, stage: 'debug', valid: false }, // 6 depth 2
      { parent: 6, stage: 'debug', valid: false }, // 7 depth 3
      { parent: 7, stage: 'debug', valid: false }, // 8 depth 4 → leaf, too deep
    );
    expect(bugDepth(nodes, nodes[2])).toBe(1);
    expect(bugDepth(nodes, nodes[4])).toBe(3);
    expect(bugDepth(nodes, nodes[8])).toBe(4);
    expect(bugDepth(nodes, nodes[1])).toBe(0);
    expect(bugDepth(nodes, nodes[0])).toBe(0);
    const parents = new Set(choicesOver(nodes, cfg).map((c) => `${c.stage}:${c.parent}`));
    expect([...parents]).toEqual(['debug:4']);
    // with max_bug_depth 4 both chains can be debugged; with 2, neither → improve the best valid node
    expect(new Set(choicesOver(nodes, { ...cfg, max_bug_depth: 4 }).map((c) => c.parent))).toEqual(new Set([4, 8]));
    expect(new Set(choicesOver(nodes, { ...cfg, max_bug_depth: 2 }).map((c) => `${c.stage}:${c.parent}`))).toEqual(
      new Set(['improve:1']),
    );
  });

  it('a buggy root is never debugged (the root is not a debug target, and ends bug chains)', () => {
    const nodes = tree({ valid: false }, { stage: 'draft', valid: false });
    expect(bugDepth(nodes, nodes[1])).toBe(1);
    for (const c of choicesOver(nodes, cfg, OBJ, 50)) expect(c).toEqual({ stage: 'debug', parent: 1 });
  });

  it('debug_prob follows the first random draw', () => {
    const nodes = tree(
      { valid: true, time: 100 },
      { stage: 'draft', valid: true, time: 60 },
      { stage: 'draft', valid: false },
    );
    const half: PolicyConfig = { n_initial_hypotheses: 2, debug_prob: 0.5, max_bug_depth: 3 };
    let debugs = 0;
    for (let seed = 0; seed < 400; seed++) {
      const [r] = nextRandom(seed);
      const { choice } = chooseNext(nodes, half, OBJ, seed);
      expect(choice).toEqual(r < 0.5 ? { stage: 'debug', parent: 2 } : { stage: 'improve', parent: 1 });
      if (choice.stage === 'debug') debugs++;
    }
    expect(debugs).toBeGreaterThan(150);
    expect(debugs).toBeLessThan(250);
  });
});

describe('chooseNext: improving', () => {
  const cfg: PolicyConfig = { n_initial_hypotheses: 1, debug_prob: 0, max_bug_depth: 3 };

  it('debug_prob=0 improves the best valid node, even with buggy leaves around', () => {
    const nodes = tree(
      { valid: true, time: 100 },
      { stage: 'draft', valid: true, time: 40 },
      { parent: 1, stage: 'improve', valid: false, time: 1 }, // buggy: its metric does not count
      { parent: 1, stage: 'improve', valid: true, time: 30 },
      { stage: 'draft', valid: true, time: 70 },
    );
    for (const c of choicesOver(nodes, cfg, OBJ, 50)) expect(c).toEqual({ stage: 'improve', parent: 3 });
    const higher: Objective = { selection_metric: 'time', lower_is_better: false };
    for (const c of choicesOver(nodes, cfg, higher, 50)) expect(c).toEqual({ stage: 'improve', parent: 0 });
  });

  it('the root can be the best node', () => {
    const nodes = tree({ valid: true, time: 10 }, { stage: 'draft', valid: true, time: 20 });
    expect(chooseNext(nodes, cfg, OBJ, 5).choice).toEqual({ stage: 'improve', parent: 0 });
  });

  it('ties go to the newest node', () => {
    const nodes = tree(
      { valid: true, time: 50 },
      { stage: 'draft', valid: true, time: 50 },
      { stage: 'draft', valid: true, time: 50 },
      { stage: 'draft', valid: true, time: 60 },
    );
    expect(bestNode(nodes, OBJ)?.id).toBe(2);
    expect(chooseNext(nodes, cfg, OBJ, 5).choice).toEqual({ stage: 'improve', parent: 2 });
    expect(bestNode(nodes, { selection_metric: 'time', lower_is_better: false })?.id).toBe(3);
  });

  it('a version with an integrity violation is never the best node, however good its metric; a warning does not count', () => {
    const nodes = tree(
      { valid: true, time: 100 },
      { stage: 'draft', valid: true, time: 1 },
      { stage: 'draft', valid: true, time: 50 },
    );
    expect(bestNode(nodes, OBJ)?.id).toBe(1);
    nodes[1].violations = [{ rule: 'clock.burst', detail: 'lines held back' }];
    expect(bestNode(nodes, OBJ)?.id).toBe(2);
    expect(chooseNext(nodes, cfg, OBJ, 5).choice).toEqual({ stage: 'improve', parent: 2 });
    delete nodes[1].violations;
    nodes[1].flags = ['touches timing code'];
    expect(bestNode(nodes, OBJ)?.id).toBe(1);
  });

  it('bestNode is undefined without a valid node', () => {
    expect(bestNode(tree({ valid: false }, { valid: false, time: 1 }), OBJ)).toBeUndefined();
  });
});

describe('replay determinism', () => {
  it('the same tree, config and RNG state give the same choice and next state', () => {
    const nodes = tree(
      { valid: true, time: 100 },
      { stage: 'draft', valid: false },
      { stage: 'draft', valid: true, time: 90 },
      { stage: 'draft', valid: false },
      { parent: 2, stage: 'improve', valid: false, status: 'crashed' },
      { parent: 1, stage: 'debug', valid: false, status: 'timeout' },
    );
    for (let seed = 0; seed < 100; seed++) {
      const a = chooseNext(nodes, AIDE, OBJ, seed);
      const b = chooseNext(structuredClone(nodes), { ...AIDE }, { ...OBJ }, seed);
      expect(b).toEqual(a);
    }
    // Driving a whole sequence from one seed twice takes the same branches.
    const drive = (seed: number) => {
      let rng = seed;
      const out: string[] = [];
      for (let i = 0; i < 30; i++) {
        const r = chooseNext(nodes, AIDE, OBJ, rng);
        out.push(`${r.choice.stage}:${r.choice.parent}`);
        rng = r.rng;
      }
      return out;
    };
    expect(drive(3)).toEqual(drive(3));
    expect(new Set(drive(3)).size).toBeGreaterThan(1); // the RNG state advances
  });
});

describe('speedup', () => {
  it('is root/best for lower-is-better and best/root otherwise, rounded to 3 decimals', () => {
    const [root, a, b] = tree({ valid: true, time: 100 }, { valid: true, time: 25 }, { valid: true, time: 300 });
    expect(speedup(root, a, OBJ)).toBe(4);
    expect(speedup(root, b, OBJ)).toBe(0.333);
    expect(speedup(root, b, { selection_metric: 'time', lower_is_better: false })).toBe(3);
    const [r2, c] = tree({ valid: true, time: 10 }, { valid: true, time: 3 });
    expect(speedup(r2, c, OBJ)).toBe(3.333);
    expect(speedup(root, root, OBJ)).toBe(1);
  });

  it('is undefined when the root is invalid, missing, or a metric is absent or not positive', () => {
    const [bad, ok, zero, none] = tree(
      { valid: false, time: 100 },
      { valid: true, time: 10 },
      { valid: true, time: 0 },
      { valid: true },
    );
    expect(speedup(bad, ok, OBJ)).toBeUndefined();
    expect(speedup(undefined, ok, OBJ)).toBeUndefined();
    expect(speedup(ok, undefined, OBJ)).toBeUndefined();
    expect(speedup(ok, zero, OBJ)).toBeUndefined();
    expect(speedup(zero, ok, OBJ)).toBeUndefined();
    expect(speedup(ok, none, OBJ)).toBeUndefined();
  });
});

// The v2 loop: one plan per iteration (how many hypotheses, from which node), then a selection.
const MULTI: IterationConfig = { n_initial_hypotheses: 3, n_hypotheses: 3, debug_prob: 0, max_bug_depth: 2 };
const plansOver = (nodes: NodeRecord[], cfg: IterationConfig, current: number, n = 300) =>
  Array.from({ length: n }, (_, seed) => planIteration(nodes, cfg, current, seed * 7919 + 1).plan);

describe('planIteration', () => {
  it('the first iteration drafts n_initial_hypotheses versions from the root, without using the RNG', () => {
    expect(planIteration(tree({ valid: true, time: 10 }), MULTI, 0, 42)).toEqual({
      plan: { stage: 'draft', parent: 0, count: 3 },
      rng: 42,
    });
  });

  it('later iterations improve the current node with n_hypotheses children', () => {
    const nodes = tree({ valid: true, time: 10 }, { valid: true, time: 8 }, { valid: true, time: 9 });
    for (const plan of plansOver(nodes, MULTI, 2)) expect(plan).toEqual({ stage: 'improve', parent: 2, count: 3 });
  });

  it('a buggy current node gets one debug child; with nothing valid at all, fresh drafts from the root', () => {
    const nodes = tree({ valid: false }, { valid: false }, { parent: 1, stage: 'debug', valid: false });
    expect(plansOver(nodes, MULTI, 2)[0]).toEqual({ stage: 'debug', parent: 2, count: 1 });
    expect(plansOver(nodes, MULTI, 0)[0]).toEqual({ stage: 'draft', parent: 0, count: 3 });
  });

  it('debug chains stop at max_bug_depth: a leaf deeper than that is never a debug target', () => {
    // v1 -> v2 -> v3 are three bugs deep; v4 is a fresh buggy draft (depth 1).
    const nodes = tree(
      { valid: true, time: 10 },
      { valid: false },
      { parent: 1, stage: 'debug', valid: false },
      { parent: 2, stage: 'debug', valid: false },
      { valid: false },
    );
    const plans = plansOver(nodes, { ...MULTI, debug_prob: 1 }, 0);
    expect(new Set(plans.map((p) => `${p.stage}:${p.parent}:${p.count}`))).toEqual(new Set(['debug:4:1']));
    // With depth 3 allowed the deep leaf is a target too, chosen by the seeded RNG.
    const deeper = plansOver(nodes, { ...MULTI, debug_prob: 1, max_bug_depth: 3 }, 0);
    expect(new Set(deeper.map((p) => p.parent))).toEqual(new Set([3, 4]));
  });

  it('the same seed takes the same branches (a replay decides alike)', () => {
    const nodes = tree({ valid: true, time: 10 }, { valid: false }, { valid: true, time: 5 });
    const half = { ...MULTI, debug_prob: 0.5 };
    expect(plansOver(nodes, half, 2, 50)).toEqual(plansOver(nodes, half, 2, 50));
    expect(new Set(plansOver(nodes, half, 2).map((p) => p.stage))).toEqual(new Set(['debug', 'improve']));
  });
});

describe('selectCurrent', () => {
  // v1 (time 5) is the best of the whole tree, but it is neither the root, the current node (v2) nor
  // one of the versions measured since (v3, v4).
  const nodes = tree(
    { valid: true, time: 10 },
    { valid: true, time: 5 },
    { valid: true, time: 9 },
    { parent: 2, stage: 'improve', valid: true, time: 8 },
    { parent: 2, stage: 'improve', valid: false },
  );

  it('local: the best valid node among the root, the current node and the newly measured ones', () => {
    expect(selectCurrent(nodes, 'local', OBJ, 2, [3, 4])).toBe(3);
    expect(selectCurrent(nodes, 'local', { ...OBJ, lower_is_better: false }, 2, [3, 4])).toBe(0);
  });

  it('global: the best valid node of the whole tree', () => {
    expect(selectCurrent(nodes, 'global', OBJ, 2, [3, 4])).toBe(1);
  });

  it('ties go to the newest; with no valid candidate the current node stays', () => {
    const tied = tree(
      { valid: true, time: 8 },
      { valid: true, time: 8 },
      { parent: 1, stage: 'improve', valid: true, time: 8 },
    );
    expect(selectCurrent(tied, 'local', OBJ, 1, [2])).toBe(2);
    const none = tree({ valid: false }, { valid: false }, { valid: false });
    expect(selectCurrent(none, 'local', OBJ, 0, [1, 2])).toBe(0);
  });
});
