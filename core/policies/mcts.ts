// Monte Carlo tree search over the version tree, as aira-dojo runs it (arXiv 2507.02554): from the
// root, descend to the child with the highest UCT score until a leaf; expand that leaf with several
// children at once (drafts from the root, improvements of a valid version, one debug of a buggy one);
// each measured version backs its reward up its ancestors as an empirical mean (no rollouts: the
// measurement is the simulation). Visits and values are derived from the node records every time,
// so nothing but the RNG lives in workflow state.
import type { Objective } from '../policy';
import type { NodeRecord } from '../types';
import {
  argmaxSeeded,
  childrenOf,
  debuggable,
  measured,
  operatorFor,
  rewardOf,
  trusted,
  type PlanResult,
  type TreePolicyConfig,
} from './plan';

/** aira-dojo's MCTS exploration constant (the paper's default). */
export const DEFAULT_UCT_C = 0.25;

export interface NodeStats {
  /** Measured versions in the subtree, the node included. */
  visits: number;
  /** Their mean reward. */
  value: number;
}

/** Visits and empirical-mean value of every node: each measured version counts once for itself and each ancestor. */
export function backup(nodes: NodeRecord[], obj: Objective): NodeStats[] {
  const reward = rewardOf(nodes, obj);
  const sum = nodes.map(() => 0);
  const visits = nodes.map(() => 0);
  for (const n of nodes) {
    if (!measured(n)) continue;
    const r = reward(n);
    for (let cur: NodeRecord | undefined = n; cur; cur = cur.parent === null ? undefined : nodes[cur.parent]) {
      visits[cur.id]++;
      sum[cur.id] += r;
    }
  }
  return nodes.map((_, i) => ({ visits: visits[i], value: visits[i] ? sum[i] / visits[i] : 0 }));
}

/** UCT of a child: its mean value plus c·sqrt(ln N(parent) / N(child)). */
export const uct = (child: NodeStats, parentVisits: number, c: number) =>
  child.value + c * Math.sqrt(Math.log(Math.max(parentVisits, 1)) / child.visits);

export function planMcts(nodes: NodeRecord[], cfg: TreePolicyConfig, obj: Objective, rng: number): PlanResult {
  const c = cfg.uct_c ?? DEFAULT_UCT_C;
  const stats = backup(nodes, obj);
  const kids = childrenOf(nodes);
  // Whether a subtree still has a leaf to expand: a measured leaf that is valid, or buggy and still debuggable.
  const open = new Map<number, boolean>();
  const isOpen = (n: NodeRecord): boolean => {
    if (open.has(n.id)) return open.get(n.id)!;
    const children = kids.get(n.id) ?? [];
    const result =
      children.length === 0
        ? measured(n) && (trusted(n) || debuggable(nodes, n, cfg.max_bug_depth))
        : children.some(isOpen);
    open.set(n.id, result);
    return result;
  };
  // Closed subtrees are skipped; when every one is closed the descent stops at the root, which drafts afresh.
  let node = nodes[0];
  for (;;) {
    const children = (kids.get(node.id) ?? []).filter((k) => measured(k) && isOpen(k));
    if (children.length === 0) break;
    const pick = argmaxSeeded(
      children.map((k) => uct(stats[k.id], stats[node.id].visits, c)),
      rng,
    );
    rng = pick.rng;
    node = children[pick.index];
  }
  const stage = node.id === 0 ? 'draft' : operatorFor(node);
  const count = stage === 'draft' ? cfg.n_initial_hypotheses : stage === 'debug' ? 1 : cfg.n_hypotheses;
  return { births: [{ stage, parent: node.id, count }], rng };
}
