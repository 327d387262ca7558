// One search, the reference runner's loop: each iteration chooses a parent and a stage, proposes
// hypotheses (never the same twice), writes one version per hypothesis, executes them in parallel on
// the GPU queue, analyzes and records each, and the next iteration works from the best of them.
import { continueAsNew, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { RunConfig } from '../../src/config/schema';
import { briefOf, relevantHistory } from '../../core/history';
import { bestNode, planIteration, selectCurrent } from '../../core/policy';
import { planBirths, type Birth, type TreePolicy } from '../../core/policies/index';
import { normalizeRunState, type CarriedState, type RunState } from '../../core/run-state';
import {
  budgetReached,
  childCount,
  objectiveOf,
  runResult,
  searchDone,
  totalIterations,
  type RunResult,
} from '../../core/run-view';
import { InFlightPool } from './in-flight';
import { controlProxy, type ControlActivities, type RunRef } from './run-context';
import { RunProgress } from './run-progress';
import { Steering } from './steering';
import { Versions } from './versions';

export * from './steering';
export type { RunState } from '../../core/run-state';
export type { RunResult } from '../../core/run-view';

export interface RunInput {
  config: RunConfig;
  /** State carried across continue-as-new, or a fork's starting lineage. */
  carried?: CarriedState;
}

export async function speedrunWorkflow({ config, carried }: RunInput): Promise<RunResult> {
  const runId = workflowInfo().workflowId;
  const state = normalizeRunState(carried, config.seed, Date.now());
  const control = controlProxy(config);
  const run = (): RunRef => ({ runId, store: config.store, configRef: state.configRef });
  const progress = new RunProgress(state, config, runId, control, run);
  const steering = new Steering(state, config, runId, progress);
  const versions = new Versions(state, config, runId, control, run, progress, steering);
  const pool = new InFlightPool();
  steering.install();

  // Memo reverts to the start-time memo on continue-as-new: set it for this run of the chain.
  const from = state.forked_from;
  upsertMemo({
    iterations_total: totalIterations(state, config),
    ...(from ? { forked_from: `${from.runId}#v_${from.nodeId}` } : {}),
  });
  if (!state.configRef) await prepare(state, config, control, versions, progress);

  const startedAt = state.iteration;
  for (;;) {
    await versions.measureRetries();
    state.stopped ??= budgetReached(state, config.budget, Date.now());
    await steering.holdIfPaused(); // a run paused in its last iteration holds too: it can still be extended
    if (searchDone(state, config)) break;
    if (state.iteration - startedAt >= config.continue_as_new_every || workflowInfo().continueAsNewSuggested) {
      await pool.drain();
      await progress.recorded();
      await continueAsNew<typeof speedrunWorkflow>({ config, carried: state });
    }
    const policy = config.science_runner.policy;
    if (policy) {
      // A tree policy (core/policies/): several parents and operators in one iteration, launched into the same pool.
      const births = startPolicyIteration(state, config, policy);
      progress.setLoopPhase('ideating');
      for (const b of births) {
        const parent = state.nodes[b.parent];
        const second = b.second === undefined ? undefined : briefOf(state.nodes[b.second]);
        await versions.proposeRound(
          b.stage,
          briefOf(parent),
          relevantHistory(state.nodes, parent),
          b.count,
          pool,
          second,
        );
      }
    } else {
      const { stage, parent, count } = startIteration(state, config);
      progress.setLoopPhase('ideating');
      await versions.proposeRound(stage, briefOf(parent), relevantHistory(state.nodes, parent), count, pool);
    }
    progress.setLoopPhase('coding');
    // With `pipeline`, the next iteration is planned while executions are still in flight.
    await pool.settle(() => (config.pipeline ? pool.size < config.max_outstanding_executions : pool.size === 0));
  }

  await pool.drain();
  await progress.recorded();
  steering.finishing = true;
  await versions.measureRetries();
  progress.setLoopPhase('done');
  await progress.record();
  return runResult(state, progress.summary());
}

/** Stores the config, and lays out v_0 (measured unless `execute_root=false`) or a fork's lineage. */
async function prepare(
  state: RunState,
  config: RunConfig,
  control: ControlActivities,
  versions: Versions,
  progress: RunProgress,
) {
  const prepared = await control.prepareRun(config, { snapshotRoot: state.nodes.length === 0 });
  state.configRef = prepared.configRef;
  if (state.nodes.length > 0) {
    for (const node of state.nodes) await progress.record(node); // a fork's lineage, as this run's v_0..v_k
    return;
  }
  const root = versions.create('root', null, 'the starting code');
  root.snapshot = prepared.root;
  if (config.execute_root) await versions.measure(root);
  else Object.assign(root, { status: 'ok', valid: false, reason: 'not executed (execute_root=false)' });
  await progress.record(root);
}

/** The next iteration's parent, stage and number of hypotheses, by the search policy. */
function startIteration(state: RunState, config: RunConfig) {
  const policy = config.science_runner;
  const objective = objectiveOf(config);
  state.iteration++;
  const current = state.current ?? bestNode(state.nodes, objective)?.id ?? 0;
  state.current = selectCurrent(state.nodes, policy.selection_scope, objective, current, state.measured);
  state.measured = [];
  const { plan, rng } = planIteration(state.nodes, policy, state.current, state.rng);
  state.rng = rng;
  return {
    stage: plan.stage,
    parent: state.nodes[plan.parent],
    count: Math.min(plan.count, policy.max_n_nodes - childCount(state)),
  };
}

/** The next iteration's births by a tree policy; `current` follows the best version (for status). */
function startPolicyIteration(state: RunState, config: RunConfig, policy: TreePolicy): Birth[] {
  const objective = objectiveOf(config);
  state.iteration++;
  state.current = bestNode(state.nodes, objective)?.id ?? 0;
  state.measured = [];
  const { births, rng } = planBirths(
    policy,
    state.nodes,
    config.science_runner,
    objective,
    state.iteration,
    state.rng,
    config.science_runner.max_n_nodes - childCount(state),
  );
  state.rng = rng;
  return births;
}
