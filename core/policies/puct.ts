// PUCT over a buffer of versions, as TTT-Discover chooses what to continue from (arXiv 2601.16175):
// every measured version is in the buffer; each pick maximises
//   Q(s) + c · P(s) · sqrt(1 + T) / (1 + n(s))
// where Q(s) is the best reward found in s's subtree (a max, not a mean: only the best outcome of a
// state matters when searching for one record), P(s) a prior from the rank of s's own reward, n(s)
// how often s was expanded and T all expansions so far. An iteration makes `n_hypotheses` picks;
// each pick counts as an expansion at once, so the next pick of the same iteration may go elsewhere.
import type { Objective } from '../policy';
import type { NodeRecord } from '../types';
import {
  argmaxSeeded,
  childrenOf,
  debuggable,
  measured,
  mergeBirths,
  operatorFor,
  rewardOf,
  trusted,
  type Birth,
  type PlanResult,
  type TreePolicyConfig,
} from './plan';

/** Our exploration coefficient (TTT-Discover's value is not restated here: see config/science_runner/puct.yaml). */
export const DEFAULT_PUCT_C = 1;

/** Best reward in each node's subtree (the max backup). */
export function maxBackup(nodes: NodeRecord[], obj: Objective): number[] {
  const reward = rewardOf(nodes, obj);
  const q = nodes.map(() => 0);
  for (const n of nodes) {
    if (!measured(n)) continue;
    const r = reward(n);
    for (let cur: NodeRecord | undefined = n; cur; cur = cur.parent === null ? undefined : nodes[cur.parent])
      q[cur.id] = Math.max(q[cur.id], r);
  }
  return q;
}

/** Rank prior: the best of `k` candidates gets weight k, the worst 1, normalised to sum 1 (ties share the better rank). */
export function rankPrior(rewards: number[]): number[] {
  const k = rewards.length;
  const raw = rewards.map((r) => k - rewards.filter((o) => o > r).length);
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
}

export function planPuct(nodes: NodeRecord[], cfg: TreePolicyConfig, obj: Objective, rng: number): PlanResult {
  if (!nodes.some((n) => n.stage === 'draft'))
    return { births: [{ stage: 'draft', parent: 0, count: cfg.n_initial_hypotheses }], rng };
  const c = cfg.puct_c ?? DEFAULT_PUCT_C;
  const reward = rewardOf(nodes, obj);
  const q = maxBackup(nodes, obj);
  const kids = childrenOf(nodes);
  // The buffer: the root, trusted versions, and buggy ones a debug may still fix (each buggy one once).
  const buffer = nodes.filter(
    (n) => measured(n) && (n.id === 0 || trusted(n) || (debuggable(nodes, n, cfg.max_bug_depth) && !kids.has(n.id))),
  );
  const prior = rankPrior(buffer.map(reward));
  const expansions = buffer.map((n) => (kids.get(n.id) ?? []).length);
  let total = nodes.length - 1;
  const births: Birth[] = [];
  for (let i = 0; i < cfg.n_hypotheses; i++) {
    const scores = buffer.map((n, j) =>
      births.some((b) => b.stage === 'debug' && b.parent === n.id)
        ? -Infinity
        : q[n.id] + (c * prior[j] * Math.sqrt(1 + total)) / (1 + expansions[j]),
    );
    const pick = argmaxSeeded(scores, rng);
    rng = pick.rng;
    const node = buffer[pick.index];
    births.push({ stage: operatorFor(node), parent: node.id, count: 1 });
    expansions[pick.index]++;
    total++;
  }
  return { births: mergeBirths(births), rng };
}
