// The run workflow's state: everything it carries across continue-as-new, and what a fork starts from.
// Pure: workflow code imports it.
import type { NodeRecord } from './types';
import { noUsage, type TokenUsage } from './usage';

export interface RunState {
  nodes: NodeRecord[];
  iteration: number;
  /** The search policy's PRNG state (core/random.ts). */
  rng: number;
  usage: TokenUsage;
  paused: boolean;
  /** Iterations added by `extend`, beyond `n_iterations`. */
  extra_iterations: number;
  /** Why the run ends early (an operator's stop, a budget); set once. */
  stopped?: string;
  /** The node the next iteration works from; chosen at the first iteration. */
  current?: number;
  /** Versions measured since `current` was chosen. */
  measured: number[];
  /** Hash of the run's config in the store ('' until the run is prepared): activities read it there. */
  configRef: string;
  /** Device-milliseconds of executions (GPUs × wall time; a CPU execution counts as one device). */
  device_ms: number;
  /** When the run began (epoch ms, workflow time), for `budget.wall_clock_s`. */
  started_ms: number;
  /** Nodes an operator asked to execute again (`retry-node`), in order. */
  retry_queue: number[];
  /** Where a fork came from. */
  forked_from?: { runId: string; nodeId: number };
}

/** What a run may be started with: the state carried by continue-as-new, or a fork's lineage. */
export type CarriedState = Partial<RunState> & Pick<RunState, 'nodes'>;

/** The one place defaults are filled in: a new run, a fork and a continued run all go through here. */
export function normalizeRunState(carried: CarriedState | undefined, seed: number, nowMs: number): RunState {
  return {
    iteration: 0,
    rng: seed >>> 0,
    usage: noUsage(),
    paused: false,
    extra_iterations: 0,
    measured: [],
    configRef: '',
    device_ms: 0,
    started_ms: nowMs,
    retry_queue: [],
    ...carried,
    nodes: carried?.nodes ?? [],
  };
}
