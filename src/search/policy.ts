// The AIDE-style search policy as pure functions: deterministic given the tree and the RNG state, so
// workflow code can call it and a replay takes the same branches.
import type { NodeRecord, Stage } from './types';

export interface PolicyConfig {
  n_initial_hypotheses: number;
  debug_prob: number;
  max_bug_depth: number;
}

export interface Objective {
  selection_metric: string;
  lower_is_better: boolean;
}

/** mulberry32: a tiny seeded PRNG whose whole state is one 32-bit integer kept in workflow state. */
export function nextRandom(state: number): [number, number] {
  const s = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, s];
}

/** The best valid, unflagged node, the root included; ties go to the newest. */
export function bestNode(nodes: NodeRecord[], obj: Objective): NodeRecord | undefined {
  let best: NodeRecord | undefined;
  for (const n of nodes) {
    if (!n.valid || n.flags?.length) continue; // a flagged version's numbers are not trusted
    const v = n.metrics[obj.selection_metric];
    const b = best?.metrics[obj.selection_metric];
    if (best === undefined || (obj.lower_is_better ? v <= b! : v >= b!)) best = n;
  }
  return best;
}

/** How many buggy versions in a row end at this node (1 for a buggy node whose parent is fine). */
export function bugDepth(nodes: NodeRecord[], node: NodeRecord): number {
  let depth = 0;
  for (let cur: NodeRecord | undefined = node; cur && !cur.valid && cur.stage !== 'root'; cur = nodes[cur.parent ?? -1]) depth++;
  return depth;
}

export interface Choice {
  stage: Exclude<Stage, 'root'>;
  parent: number;
}

/**
 * Drafts from the root until `n_initial_hypotheses` exist; then, with probability `debug_prob`, debugs
 * a random buggy leaf no deeper than `max_bug_depth`; otherwise improves the best valid node.
 */
export function chooseNext(nodes: NodeRecord[], cfg: PolicyConfig, obj: Objective, rng: number): { choice: Choice; rng: number } {
  const drafts = nodes.filter((n) => n.stage === 'draft').length;
  if (drafts < cfg.n_initial_hypotheses) return { choice: { stage: 'draft', parent: 0 }, rng };
  let [r, state] = nextRandom(rng);
  if (r < cfg.debug_prob) {
    const hasChild = new Set(nodes.map((n) => n.parent));
    const leaves = nodes.filter((n) => n.stage !== 'root' && !n.valid && n.snapshot && n.status !== 'pending' && !hasChild.has(n.id) && bugDepth(nodes, n) <= cfg.max_bug_depth);
    if (leaves.length > 0) {
      [r, state] = nextRandom(state);
      return { choice: { stage: 'debug', parent: leaves[Math.floor(r * leaves.length)].id }, rng: state };
    }
  }
  const best = bestNode(nodes, obj);
  return { choice: best ? { stage: 'improve', parent: best.id } : { stage: 'draft', parent: 0 }, rng: state };
}

/** Speed-up of `best` over the root: how many times better the selection metric got. */
export function speedup(root: NodeRecord | undefined, best: NodeRecord | undefined, obj: Objective): number | undefined {
  const a = root?.valid ? root.metrics[obj.selection_metric] : undefined;
  const b = best?.metrics[obj.selection_metric];
  if (a === undefined || b === undefined || a <= 0 || b <= 0) return undefined;
  return Math.round((obj.lower_is_better ? a / b : b / a) * 1000) / 1000;
}
