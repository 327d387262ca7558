// What a run shows (status, tree, the store's view) and when it must end, computed from its state.
// Pure: workflow code imports it; unit-tested without Temporal.
import type { RunConfig } from '../src/config/schema';
import { IN_RUN_VALIDITY, treeFsr } from './fsr';
import { bestNode, speedup, type Objective } from './policy';
import type { RunState } from './run-state';
import type { Phase, RunView } from './types';

export type RunSummary = Omit<RunView, 'nodes' | 'updated_at'>;

export const objectiveOf = (config: RunConfig): Objective => ({
  selection_metric: config.task.selection_metric,
  lower_is_better: config.task.lower_is_better,
});

export const totalIterations = (state: RunState, config: RunConfig) => config.n_iterations + state.extra_iterations;

/** Versions beyond the root. */
export const childCount = (state: RunState) => state.nodes.length - 1;

/** FSR over the scored versions; with none faster, t_agent is t_R and FSR is 0. */
export function runFsrOf(state: RunState, config: RunConfig): number | undefined {
  const { records, metrics_at_most } = config.task;
  if (!records) return undefined;
  return treeFsr(state.nodes, records, { target: metrics_at_most.val_loss ?? IN_RUN_VALIDITY.target }).fsr;
}

export function runSummary(state: RunState, config: RunConfig, runId: string, phase: Phase): RunSummary {
  const { task } = config;
  const objective = objectiveOf(config);
  const best = bestNode(state.nodes, objective);
  const fsr = runFsrOf(state, config);
  const stopped = stopReason(state, config);
  return {
    runId,
    task: task.id,
    model: config.model.id,
    science_runner: config.science_runner.id,
    phase,
    iteration: state.iteration,
    n_iterations: totalIterations(state, config),
    ...(state.paused ? { paused: true } : {}),
    ...(stopped ? { stopped } : {}),
    ...(state.forked_from ? { forked_from: state.forked_from } : {}),
    selection_metric: task.selection_metric,
    lower_is_better: task.lower_is_better,
    best: best && {
      id: best.id,
      metric: best.metrics[task.selection_metric],
      speedup: speedup(state.nodes[0], best, objective),
      workspace: `${config.workspace_dir}/${runId}/v_${best.id}`,
    },
    usage: state.usage,
    gpu_seconds: Math.round(state.device_ms / 100) / 10,
    ...(fsr !== undefined ? { fsr } : {}),
  };
}

/** The budget this run has used up, said as the reason it stops; undefined while every budget holds. */
export function budgetReached(state: RunState, budget: RunConfig['budget'], nowMs: number): string | undefined {
  const { usd, gpu_seconds, wall_clock_s } = budget;
  const spent = state.usage.cost_usd;
  const deviceS = state.device_ms / 1000;
  const wallS = (nowMs - state.started_ms) / 1000;
  if (usd !== undefined && spent >= usd) return `budget: LLM spend $${spent.toFixed(2)} reached budget.usd=${usd}`;
  if (gpu_seconds !== undefined && deviceS >= gpu_seconds)
    return `budget: ${deviceS.toFixed(1)} GPU-seconds reached budget.gpu_seconds=${gpu_seconds}`;
  if (wall_clock_s !== undefined && wallS >= wall_clock_s)
    return `budget: ${wallS.toFixed(0)} s of wall clock reached budget.wall_clock_s=${wall_clock_s}`;
  return undefined;
}

/** Whether the loop has nothing more to start: stopped, out of iterations, or at the node cap. */
export function searchDone(state: RunState, config: RunConfig): boolean {
  return (
    Boolean(state.stopped) ||
    state.iteration >= totalIterations(state, config) ||
    childCount(state) >= config.science_runner.max_n_nodes
  );
}

/**
 * Why the run stops before its iterations are used up: a signal or a budget (kept in the state), or
 * the node cap. Running out of iterations is the normal end and has no reason.
 */
export function stopReason(state: RunState, config: RunConfig): string | undefined {
  if (state.stopped) return state.stopped;
  const cap = config.science_runner.max_n_nodes;
  if (childCount(state) >= cap && state.iteration < totalIterations(state, config)) {
    return `max_n_nodes=${cap} reached at iteration ${state.iteration}/${totalIterations(state, config)}`;
  }
  return undefined;
}

export interface RunResult {
  runId: string;
  best?: RunSummary['best'];
  fsr?: number;
  nodes: number;
  buggy: number;
  usage: RunState['usage'];
  gpu_seconds?: number;
  stopped?: string;
}

/** What a finished run returns: its final summary, small. */
export function runResult(state: RunState, final: RunSummary): RunResult {
  return {
    runId: final.runId,
    best: final.best,
    ...(final.fsr !== undefined ? { fsr: final.fsr } : {}),
    nodes: state.nodes.length,
    buggy: state.nodes.filter((n) => !n.valid).length,
    ...(final.stopped ? { stopped: final.stopped } : {}),
    usage: state.usage,
    gpu_seconds: final.gpu_seconds,
  };
}
