// What the tree-search policies (MCTS, evolutionary, PUCT) share: the shape of an iteration's plan,
// a node's reward in [0, 1], and the trimming to the node cap. Pure: workflow code imports it.
import { bestNode, bugDepth, type Objective } from '../policy';
import { nextRandom } from '../random';
import type { NodeRecord, Stage } from '../types';

export type Operator = Exclude<Stage, 'root'>;

/** Versions to make from one parent (and, for a crossover, a second one) by one operator. */
export interface Birth {
  stage: Operator;
  parent: number;
  /** The crossover's other parent. */
  second?: number;
  count: number;
}

/** The knobs the policies read (src/config/schema.ts scienceRunnerSchema); the defaults are their papers'. */
export interface TreePolicyConfig {
  n_initial_hypotheses: number;
  n_hypotheses: number;
  debug_prob: number;
  max_bug_depth: number;
  uct_c?: number;
  crossover_prob?: number;
  num_generations_till_crossover?: number;
  selection_temperature?: number;
  puct_c?: number;
}

export interface PlanResult {
  births: Birth[];
  rng: number;
}

/** Measured, not pending. */
export const measured = (n: NodeRecord) => n.status !== 'pending';
/** A version the policy may build on: valid and without an integrity violation. */
export const trusted = (n: NodeRecord) => n.valid && !n.violations?.length;

/**
 * A node's reward in [0, 1]: how close it comes to the best trusted version so far (best/metric when
 * lower is better, metric/best otherwise); 0 for a buggy, violating or unmeasured version. Ratios
 * keep the scale the same for any metric, so one exploration constant fits every task.
 */
export function rewardOf(nodes: NodeRecord[], obj: Objective): (n: NodeRecord) => number {
  const best = bestNode(nodes, obj)?.metrics[obj.selection_metric];
  return (n) => {
    const v = n.metrics[obj.selection_metric];
    if (!trusted(n) || !measured(n) || best === undefined || v === undefined || !(v > 0) || !(best > 0)) return 0;
    return Math.min(1, obj.lower_is_better ? best / v : v / best);
  };
}

/** Buggy, measured versions with code that a debug may still fix (at most `maxDepth` bugs deep). */
export const debuggable = (nodes: NodeRecord[], n: NodeRecord, maxDepth: number) =>
  n.stage !== 'root' && !n.valid && measured(n) && Boolean(n.snapshot) && bugDepth(nodes, n) <= maxDepth;

/** Children by parent id (pending ones included: they are taken). */
export function childrenOf(nodes: NodeRecord[]): Map<number, NodeRecord[]> {
  const kids = new Map<number, NodeRecord[]>();
  for (const n of nodes) if (n.parent !== null) kids.set(n.parent, [...(kids.get(n.parent) ?? []), n]);
  return kids;
}

/** The operator a parent gets: draft from the root, improve a trusted version, debug a buggy one. */
export const operatorFor = (n: NodeRecord): Operator =>
  n.stage === 'root' ? 'draft' : trusted(n) ? 'improve' : 'debug';

/** The index of the highest score; ties broken by a seeded draw so no id order biases the search. */
export function argmaxSeeded(scores: number[], rng: number): { index: number; rng: number } {
  const top = Math.max(...scores);
  const tied = scores.flatMap((s, i) => (top - s <= 1e-12 ? [i] : []));
  if (tied.length === 1) return { index: tied[0], rng };
  const [r, next] = nextRandom(rng);
  return { index: tied[Math.floor(r * tied.length)], rng: next };
}

/** Same-parent, same-operator births merged (their hypotheses are proposed as one round), in first-seen order. */
export function mergeBirths(births: Birth[]): Birth[] {
  const out: Birth[] = [];
  for (const b of births) {
    const same = out.find((o) => o.stage === b.stage && o.parent === b.parent && o.second === b.second);
    if (same) same.count += b.count;
    else out.push({ ...b });
  }
  return out;
}

/** The births cut to `room` versions in all (the node cap), in order. */
export function trimBirths(births: Birth[], room: number): Birth[] {
  const out: Birth[] = [];
  for (const b of births) {
    if (room <= 0) break;
    const count = Math.min(b.count, room);
    out.push({ ...b, count });
    room -= count;
  }
  return out;
}
