// An evolutionary policy as aira-dojo's (arXiv 2507.02554): the drafts are the first generation; each
// later iteration is a generation of `n_hypotheses` individuals, evaluated together. Each individual
// is, with probability `debug_prob`, a debug of a buggy version; else, once
// `num_generations_till_crossover` generations have passed and two parents exist, with probability
// `crossover_prob` a crossover of two parents; else an improvement of one. Parents are drawn
// fitness-proportionally (Boltzmann weights at `selection_temperature`) from the population: every
// trusted version so far, the root included (nothing is culled: the tree keeps every version).
import type { Objective } from '../policy';
import { nextRandom } from '../random';
import type { NodeRecord } from '../types';
import {
  debuggable,
  measured,
  mergeBirths,
  rewardOf,
  trusted,
  childrenOf,
  type Birth,
  type PlanResult,
  type TreePolicyConfig,
} from './plan';

/** aira-dojo's evolutionary defaults as read from its solver config (see config/science_runner/evolutionary.yaml). */
export const DEFAULT_CROSSOVER_PROB = 0.5;
export const DEFAULT_GENERATIONS_TILL_CROSSOVER = 2;
export const DEFAULT_SELECTION_TEMPERATURE = 1;

/** One draw from `items` with weights exp(fitness / temperature). */
export function fitnessProportional(
  items: NodeRecord[],
  fitness: (n: NodeRecord) => number,
  temperature: number,
  rng: number,
): { pick: NodeRecord; rng: number } {
  const weights = items.map((n) => Math.exp(fitness(n) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  const [r, next] = nextRandom(rng);
  let acc = 0;
  for (let i = 0; i < items.length; i++) {
    acc += weights[i] / total;
    if (r < acc) return { pick: items[i], rng: next };
  }
  return { pick: items[items.length - 1], rng: next };
}

/** The generation this iteration makes: 0 for the drafts, then 1, 2, … (counted from the drafts' iteration). */
export function generationOf(nodes: NodeRecord[], iteration: number): number {
  const firstDraft = nodes.find((n) => n.stage === 'draft');
  return firstDraft ? iteration - firstDraft.iteration : 0;
}

export function planEvolutionary(
  nodes: NodeRecord[],
  cfg: TreePolicyConfig,
  obj: Objective,
  iteration: number,
  rng: number,
): PlanResult {
  if (!nodes.some((n) => n.stage === 'draft'))
    return { births: [{ stage: 'draft', parent: 0, count: cfg.n_initial_hypotheses }], rng };
  const crossoverProb = cfg.crossover_prob ?? DEFAULT_CROSSOVER_PROB;
  const temperature = cfg.selection_temperature ?? DEFAULT_SELECTION_TEMPERATURE;
  const crossoverOpen =
    generationOf(nodes, iteration) >= (cfg.num_generations_till_crossover ?? DEFAULT_GENERATIONS_TILL_CROSSOVER);
  const fitness = rewardOf(nodes, obj);
  const population = nodes.filter((n) => measured(n) && trusted(n));
  const kids = childrenOf(nodes);
  const buggy = nodes.filter((n) => debuggable(nodes, n, cfg.max_bug_depth) && !kids.has(n.id));
  const births: Birth[] = [];
  for (let i = 0; i < cfg.n_hypotheses; i++) {
    let r: number;
    [r, rng] = nextRandom(rng);
    const debugs = buggy.filter((n) => !births.some((b) => b.stage === 'debug' && b.parent === n.id)); // one fix per broken version
    if ((r < cfg.debug_prob || population.length === 0) && debugs.length > 0) {
      [r, rng] = nextRandom(rng);
      births.push({ stage: 'debug', parent: debugs[Math.floor(r * debugs.length)].id, count: 1 });
      continue;
    }
    if (population.length === 0) {
      births.push({ stage: 'draft', parent: 0, count: 1 }); // nothing to build on: a fresh draft
      continue;
    }
    [r, rng] = nextRandom(rng);
    const first = fitnessProportional(population, fitness, temperature, rng);
    rng = first.rng;
    if (crossoverOpen && population.length >= 2 && r < crossoverProb) {
      const second = fitnessProportional(
        population.filter((n) => n.id !== first.pick.id),
        fitness,
        temperature,
        rng,
      );
      rng = second.rng;
      // The fitter parent first: its code is what the child's edits apply to.
      const [a, b] = fitness(second.pick) > fitness(first.pick) ? [second.pick, first.pick] : [first.pick, second.pick];
      births.push({ stage: 'crossover', parent: a.id, second: b.id, count: 1 });
    } else {
      births.push({ stage: first.pick.stage === 'root' ? 'draft' : 'improve', parent: first.pick.id, count: 1 });
    }
  }
  return { births: mergeBirths(births), rng };
}
