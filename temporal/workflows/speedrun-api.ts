// What a speedrun workflow takes, returns and answers: shared by the current loop and the frozen v1
// loop that runs in flight from before it (see speedrun-v1.ts).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RunConfig } from '../../src/config/schema';
import type { TokenUsage } from '../../core/usage';
import type { RunView } from '../../core/types';

export interface RunState {
  nodes: import('../../core/types').NodeRecord[];
  iteration: number;
  rng: number;
  usage: TokenUsage;
  /** Steering, carried across continue-as-new (absent in runs started before steering existed). */
  paused?: boolean;
  extra_iterations?: number;
  stopped?: string;
  /** The node the next iteration works from, and versions measured since it was chosen (v2 loop). */
  current?: number;
  measured?: number[];
  /** Hash of the run's config in the store: activities read it there instead of carrying it. */
  configRef?: string;
  /** Device-milliseconds of executions (GPUs × wall time; a CPU execution counts as one device). */
  device_ms?: number;
  /** When the run began (epoch ms, workflow time), for `budget.wall_clock_s`. */
  started_ms?: number;
  /** Nodes an operator asked to execute again (`retry-node`), in order. */
  retry_queue?: number[];
  /** Where a fork came from. */
  forked_from?: { runId: string; nodeId: number };
}

export interface RunInput {
  config: RunConfig;
  /** State carried across continue-as-new, or a fork's starting lineage. */
  carried?: RunState;
}

export interface RunResult {
  runId: string;
  best?: RunView['best'];
  fsr?: number;
  nodes: number;
  buggy: number;
  usage: TokenUsage;
  gpu_seconds?: number;
  stopped?: string;
}

export const stateQuery = defineQuery<Omit<RunView, 'nodes'> & { nodes: number }>('state');
export const treeQuery = defineQuery<RunView>('tree');
/** Hold before the next step: no new LLM call, no new execution (one in flight finishes). */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Finish the node in flight, then complete with what exists. */
export const stopSignal = defineSignal<[reason?: string]>('stop');
/** More iterations; answers with the new total. */
export const extendUpdate = defineUpdate<number, [iterations: number]>('extend');
/** Execute a node's version again (bypassing the result cache); the old result is kept beside the new. */
export const retryNodeUpdate = defineUpdate<string, [nodeId: number]>('retry-node');
