// Frozen v1 speedrun loop (see speedrunV1).
import {
  ActivityCancellationType,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as controlActivities from '../activities/control-v1';
import type * as gpuActivities from '../activities/gpu';
import type { RunConfig } from '../../src/config/schema';
import { addUsage, noUsage, type TokenUsage } from '../../core/usage';
import { bestNode, chooseNext, speedup } from '../../core/policy';
import { treeFsr } from '../../core/fsr';
import type { NodeRecord, Phase, RunView, Stage } from '../../core/types';
import { gpuQueue, SA } from '../../core/search-attributes';

import { extendUpdate, pauseSignal, resumeSignal, stateQuery, stopSignal, treeQuery, type RunInput, type RunResult, type RunState } from './speedrun-api';

const HISTORY_LIMIT = 12;

/**
 * The v1 loop, frozen: one version per iteration. Runs started before the v2 loop replay through it
 * (speedrunWorkflow calls it when their history has no `science-loop-v2` marker). Do not edit; delete
 * it with activities/control-v1.ts once no v1 run is in flight.
 */
export async function speedrunV1({ config, carried }: RunInput): Promise<RunResult> {
  const runId = workflowInfo().workflowId;
  const { task } = config;
  const objective = { selection_metric: task.selection_metric, lower_is_better: task.lower_is_better };
  const state: RunState = carried ?? { nodes: [], iteration: 0, rng: config.seed >>> 0, usage: noUsage() };
  let phase: Phase = 'starting';
  const totalIterations = () => config.n_iterations + (state.extra_iterations ?? 0);

  const control = proxyActivities<typeof controlActivities>({
    taskQueue: config.task_queue,
    startToCloseTimeout: `${config.timeouts.llm_call_s} s`,
    heartbeatTimeout: `${config.timeouts.llm_heartbeat_s} s`,
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '1 min', maximumAttempts: 8, nonRetryableErrorTypes: ['NonRetryableLlmError', 'TaskError'] },
  });
  const gpu = proxyActivities<typeof gpuActivities>({
    taskQueue: gpuQueue(config.task_queue),
    startToCloseTimeout: `${task.timeout_s + 600} s`,
    heartbeatTimeout: `${config.timeouts.execution_heartbeat_s} s`,
    retry: { initialInterval: '2 s', backoffCoefficient: 2, maximumInterval: '1 min', maximumAttempts: 5, nonRetryableErrorTypes: ['InsufficientGpus'] },
    // The workflow learns an execution was cancelled only once its process group is dead.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

  const view = (): Omit<RunView, 'nodes' | 'updated_at'> => {
    const best = bestNode(state.nodes, objective);
    return {
      runId,
      task: task.id,
      model: config.model.id,
      science_runner: config.science_runner.id,
      phase,
      iteration: state.iteration,
      n_iterations: totalIterations(),
      ...(state.paused ? { paused: true } : {}),
      ...(state.stopped ? { stopped: state.stopped } : {}),
      selection_metric: task.selection_metric,
      lower_is_better: task.lower_is_better,
      best: best && {
        id: best.id,
        metric: best.metrics[task.selection_metric],
        speedup: speedup(state.nodes[0], best, objective),
        workspace: `${config.workspace_dir}/${runId}/v_${best.id}`,
      },
      usage: state.usage,
      ...(task.records ? { fsr: fsrOf(state.nodes, config) } : {}),
    };
  };
  setHandler(stateQuery, () => ({ ...view(), nodes: state.nodes.length, updated_at: '' }));
  setHandler(treeQuery, () => ({ ...view(), nodes: state.nodes, updated_at: '' }));
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(stopSignal, (reason) => void (state.stopped ??= reason || 'stopped by an operator'));
  setHandler(
    extendUpdate,
    (iterations) => {
      state.extra_iterations = (state.extra_iterations ?? 0) + iterations;
      return totalIterations();
    },
    { validator: (iterations) => { if (!Number.isInteger(iterations) || iterations < 1) throw new Error('extend takes a positive whole number of iterations'); } },
  );

  /** Waits here while the run is paused (an operator's stop also ends the wait). */
  const holdIfPaused = async () => {
    if (!state.paused || state.stopped) return;
    const was = phase;
    setPhase('paused');
    await condition(() => !state.paused || Boolean(state.stopped));
    setPhase(was);
  };

  const setPhase = (p: Phase) => {
    phase = p;
    const best = bestNode(state.nodes, objective);
    upsertSearchAttributes([
      { key: SA.Phase, value: p },
      { key: SA.Iteration, value: state.iteration },
      ...(best ? [{ key: SA.BestMetric, value: best.metrics[task.selection_metric] }] : []),
    ]);
  };

  /** Executes and analyzes a version; fills in the node's outcome. */
  const measure = async (node: NodeRecord) => {
    setPhase('executing');
    const exec = await gpu.execute({ runId, nodeId: node.id, snapshot: node.snapshot!, task, data: config.data, store: config.store });
    setPhase('analyzing');
    const verdict = await control.analyze(config, exec);
    Object.assign(node, { status: verdict.status, valid: verdict.valid, reason: verdict.reason, metrics: verdict.metrics, logRef: exec.logRef });
    addFlags(node, verdict.flags);
    node.timings.exec_ms = exec.wallMs;
    node.timings.harness_wall_ms = exec.wallMs;
    if (exec.cached) node.timings.exec_cached = true;
  };

  const record = async (node: NodeRecord) => {
    node.timings.finished_at = new Date().toISOString();
    setPhase('recording');
    await control.recordNode(config, view(), node);
  };

  const newNode = (stage: Stage, parent: number | null, plan: string): NodeRecord => {
    const node: NodeRecord = {
      id: state.nodes.length,
      parent,
      stage,
      iteration: state.iteration,
      plan,
      status: 'pending',
      valid: false,
      metrics: {},
      timings: { started_at: new Date().toISOString(), llm_ms: 0, exec_ms: 0 },
      usage: noUsage(),
    };
    state.nodes.push(node);
    return node;
  };

  if (state.nodes.length === 0) {
    const root = newNode('root', null, 'the starting code');
    root.snapshot = await control.prepareRoot(config);
    if (config.execute_root) await measure(root);
    else Object.assign(root, { status: 'ok', valid: false, reason: 'not executed (execute_root=false)' });
    await record(root);
  }

  const startedAt = state.iteration;
  const childCount = () => state.nodes.length - 1;
  while (!state.stopped && state.iteration < totalIterations() && childCount() < config.science_runner.max_n_nodes) {
    await holdIfPaused();
    if (state.stopped) break;
    if (state.iteration - startedAt >= config.continue_as_new_every || workflowInfo().continueAsNewSuggested) {
      await continueAsNew({ config, carried: state });
    }
    state.iteration++;
    const { choice, rng } = chooseNext(state.nodes, config.science_runner, objective, state.rng);
    state.rng = rng;
    const parent = state.nodes[choice.parent];
    const history = relevantHistory(state.nodes, parent);
    const node = newNode(choice.stage, parent.id, '');

    setPhase('ideating');
    const stepInput = { runId, config, nodeId: node.id, stage: choice.stage, parent, history };
    const idea = await control.ideate(stepInput);
    Object.assign(node, { plan: idea.plan, planRef: idea.planRef });
    node.timings.llm_ms += idea.llm_ms;
    node.usage = addUsage(node.usage, idea.usage);

    await holdIfPaused();
    setPhase('coding');
    const coded = await control.code({ ...stepInput, planRef: idea.planRef });
    node.timings.llm_ms += coded.llm_ms;
    node.usage = addUsage(node.usage, coded.usage);
    state.usage = addUsage(state.usage, node.usage);

    if (coded.snapshot) {
      node.snapshot = coded.snapshot;
      addFlags(node, coded.flags);
      await holdIfPaused();
      await measure(node);
    } else {
      Object.assign(node, { status: 'buggy', valid: false, reason: coded.error });
    }
    await record(node);
  }

  setPhase('done');
  const final = view();
  await control.recordNode(config, final);
  return {
    runId,
    best: final.best,
    ...(final.fsr !== undefined ? { fsr: final.fsr } : {}),
    nodes: state.nodes.length,
    buggy: state.nodes.filter((n) => !n.valid).length,
    ...(state.stopped ? { stopped: state.stopped } : {}),
    usage: state.usage,
  };
}

function addFlags(node: NodeRecord, flags: string[] | undefined) {
  if (flags?.length) node.flags = [...(node.flags ?? []), ...flags];
}

/** FSR over the scored versions; with none faster, t_agent is t_R and FSR is 0. */
function fsrOf(nodes: NodeRecord[], config: RunConfig): number {
  const { records, metrics_at_most } = config.task;
  return treeFsr(nodes, records!, { target: metrics_at_most.val_loss ?? 3.28 }).fsr;
}

/** The parent's lineage and its other children, newest last, bounded. */
function relevantHistory(nodes: NodeRecord[], parent: NodeRecord): NodeRecord[] {
  const ids = new Set<number>();
  for (let cur: NodeRecord | undefined = parent; cur; cur = cur.parent === null ? undefined : nodes[cur.parent]) ids.add(cur.id);
  for (const n of nodes) if (n.parent === parent.id) ids.add(n.id);
  return [...ids].sort((a, b) => a - b).slice(-HISTORY_LIMIT).map((id) => nodes[id]);
}
