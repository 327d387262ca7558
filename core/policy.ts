// The AIDE-style search policy as pure functions: deterministic given the tree and the RNG state, so
// workflow code can call it and a replay takes the same branches.
import { nextRandom } from './random';
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

/** The best valid node without an integrity violation, the root included; ties go to the newest. Warnings (flags) do not count against it. */
export function bestNode(nodes: NodeRecord[], obj: Objective): NodeRecord | undefined {
  let best: NodeRecord | undefined;
  for (const n of nodes) {
    if (!n.valid || n.violations?.length) continue; // a version that broke a named rule is not trusted
    const v = n.metrics[obj.selection_metric];
    const b = best?.metrics[obj.selection_metric];
    if (best === undefined || (obj.lower_is_better ? v <= b! : v >= b!)) best = n;
  }
  return best;
}

/** How many buggy versions in a row end at this node (1 for a buggy node whose parent is fine). */
export function bugDepth(nodes: NodeRecord[], node: NodeRecord): number {
  let depth = 0;
  for (let cur: NodeRecord | undefined = node; cur && !cur.valid && cur.stage !== 'root'; cur = nodes[cur.parent ?? -1])
    depth++;
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
export function chooseNext(
  nodes: NodeRecord[],
  cfg: PolicyConfig,
  obj: Objective,
  rng: number,
): { choice: Choice; rng: number } {
  const drafts = nodes.filter((n) => n.stage === 'draft').length;
  if (drafts < cfg.n_initial_hypotheses) return { choice: { stage: 'draft', parent: 0 }, rng };
  let [r, state] = nextRandom(rng);
  if (r < cfg.debug_prob) {
    const leaves = debuggableLeaves(nodes, cfg.max_bug_depth);
    if (leaves.length > 0) {
      [r, state] = nextRandom(state);
      return { choice: { stage: 'debug', parent: leaves[Math.floor(r * leaves.length)].id }, rng: state };
    }
  }
  const best = bestNode(nodes, obj);
  return { choice: best ? { stage: 'improve', parent: best.id } : { stage: 'draft', parent: 0 }, rng: state };
}

/** Speed-up of `best` over the root: how many times better the selection metric got. */
export function speedup(
  root: NodeRecord | undefined,
  best: NodeRecord | undefined,
  obj: Objective,
): number | undefined {
  const a = root?.valid ? root.metrics[obj.selection_metric] : undefined;
  const b = best?.metrics[obj.selection_metric];
  if (a === undefined || b === undefined || a <= 0 || b <= 0) return undefined;
  return Math.round((obj.lower_is_better ? a / b : b / a) * 1000) / 1000;
}

export interface IterationConfig extends PolicyConfig {
  n_hypotheses: number;
}

export interface IterationPlan extends Choice {
  /** How many hypotheses this iteration tries from `parent` (they execute in parallel). */
  count: number;
}

/**
 * The reference runner's iteration: the first one drafts `n_initial_hypotheses` versions from the root;
 * each later one debugs a random buggy leaf (probability `debug_prob`, one child) or works from the
 * node the last selection kept, `current`: `n_hypotheses` improvements when it is valid, one debug
 * attempt when it is buggy, fresh drafts from the root when nothing valid exists yet.
 */
export function planIteration(
  nodes: NodeRecord[],
  cfg: IterationConfig,
  current: number,
  rng: number,
): { plan: IterationPlan; rng: number } {
  if (!nodes.some((n) => n.stage === 'draft'))
    return { plan: { stage: 'draft', parent: 0, count: cfg.n_initial_hypotheses }, rng };
  let [r, state] = nextRandom(rng);
  const leaves = debuggableLeaves(nodes, cfg.max_bug_depth);
  if (r < cfg.debug_prob && leaves.length > 0) {
    [r, state] = nextRandom(state);
    return { plan: { stage: 'debug', parent: leaves[Math.floor(r * leaves.length)].id, count: 1 }, rng: state };
  }
  const parent = nodes[current] ?? nodes[0];
  if (parent.valid) return { plan: { stage: 'improve', parent: parent.id, count: cfg.n_hypotheses }, rng: state };
  if (parent.stage !== 'root' && parent.snapshot && bugDepth(nodes, parent) <= cfg.max_bug_depth) {
    return { plan: { stage: 'debug', parent: parent.id, count: 1 }, rng: state };
  }
  return { plan: { stage: 'draft', parent: 0, count: cfg.n_hypotheses }, rng: state };
}

/** Buggy, measured versions with no child yet, at most `maxDepth` bugs deep. */
function debuggableLeaves(nodes: NodeRecord[], maxDepth: number): NodeRecord[] {
  const hasChild = new Set(nodes.map((n) => n.parent));
  return nodes.filter(
    (n) =>
      n.stage !== 'root' &&
      !n.valid &&
      n.snapshot &&
      n.status !== 'pending' &&
      !hasChild.has(n.id) &&
      bugDepth(nodes, n) <= maxDepth,
  );
}

/**
 * The node the next iteration works from. `local` (the reference's rule): the best valid node among
 * the root, the current node and the versions measured since the last selection; `global`: the best
 * valid node of the whole tree. With no valid candidate the current node stays.
 */
export function selectCurrent(
  nodes: NodeRecord[],
  scope: 'local' | 'global',
  obj: Objective,
  current: number,
  measured: number[],
): number {
  const pool =
    scope === 'global'
      ? nodes
      : [...new Set([0, current, ...measured])]
          .sort((a, b) => a - b)
          .map((id) => nodes[id])
          .filter(Boolean);
  return bestNode(pool, obj)?.id ?? current;
}
