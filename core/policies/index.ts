// The search policies beside the reference runner's loop, dispatched by `science_runner.policy`.
// Each plans one iteration as births (parent, operator, count) from the node records and the seeded
// RNG alone, so the workflow replays the same choices.
import type { Objective } from '../policy';
import type { NodeRecord } from '../types';
import { planEvolutionary } from './evolutionary';
import { planMcts } from './mcts';
import { planPuct } from './puct';
import { trimBirths, type PlanResult, type TreePolicyConfig } from './plan';

export type { Birth, PlanResult, TreePolicyConfig } from './plan';
export type TreePolicy = 'mcts' | 'evolutionary' | 'puct';

/**
 * This iteration's births under `policy`, at most `room` versions in all (what `max_n_nodes` leaves).
 * `iteration` is the one being planned (the evolutionary policy counts generations by it).
 */
export function planBirths(
  policy: TreePolicy,
  nodes: NodeRecord[],
  cfg: TreePolicyConfig,
  obj: Objective,
  iteration: number,
  rng: number,
  room: number,
): PlanResult {
  const plan =
    policy === 'mcts'
      ? planMcts(nodes, cfg, obj, rng)
      : policy === 'evolutionary'
        ? planEvolutionary(nodes, cfg, obj, iteration, rng)
        : planPuct(nodes, cfg, obj, rng);
  return { births: trimBirths(plan.births, room), rng: plan.rng };
}
