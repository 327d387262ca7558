import {
  ActivityCancellationType,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type * as controlActivities from '../activities/control';
import type * as gpuActivities from '../activities/gpu';
import type { RunConfig } from '../../src/config/schema';
import { addUsage, noUsage, type TokenUsage } from '../../core/usage';
import { bestNode, planIteration, selectCurrent, speedup } from '../../core/policy';
import { briefOf, relevantHistory, type NodeBrief } from '../../core/history';
import { IN_RUN_VALIDITY, treeFsr } from '../../core/fsr';
import type { NodeRecord, Phase, RunView, Stage } from '../../core/types';
import { gpuQueue, SA } from '../../core/search-attributes';
import {
  extendUpdate,
  pauseSignal,
  resumeSignal,
  retryNodeUpdate,
  stateQuery,
  stopSignal,
  treeQuery,
  type RunInput,
  type RunResult,
  type RunState,
} from './speedrun-api';
import { speedrunV1 } from './speedrun-v1';
import { agentCode } from './agent-coder';

export * from './speedrun-api';

/**
 * One search, the reference runner's loop: each iteration chooses a parent and a stage, proposes
 * hypotheses (never the same twice), writes one version per hypothesis, executes them in parallel on
 * the GPU queue, analyzes and records each, and the next iteration works from the best of them.
 */
export async function speedrunWorkflow(input: RunInput): Promise<RunResult> {
  // Runs recorded before the parallel loop replay through the frozen v1 loop.
  if (!patched('science-loop-v2')) return speedrunV1(input);
  return runSearch(input);
}

async function runSearch({ config, carried }: RunInput): Promise<RunResult> {
  const runId = workflowInfo().workflowId;
  const { task, science_runner: policy } = config;
  const objective = { selection_metric: task.selection_metric, lower_is_better: task.lower_is_better };
  const state: RunState = carried ?? { nodes: [], iteration: 0, rng: config.seed >>> 0, usage: noUsage() };
  state.started_ms ??= Date.now();
  state.device_ms ??= 0;
  state.measured ??= [];
  state.retry_queue ??= [];
  const totalIterations = () => config.n_iterations + (state.extra_iterations ?? 0);
  const childCount = () => state.nodes.length - 1;

  const control = proxyActivities<typeof controlActivities>({
    taskQueue: config.task_queue,
    startToCloseTimeout: `${config.timeouts.llm_call_s} s`,
    heartbeatTimeout: `${config.timeouts.llm_heartbeat_s} s`,
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '1 min', maximumAttempts: 8, nonRetryableErrorTypes: ['NonRetryableLlmError', 'TaskError'] },
  });
  const gpuOptions: ActivityOptions = {
    taskQueue: gpuQueue(config.task_queue),
    startToCloseTimeout: `${task.timeout_s + 600} s`,
    heartbeatTimeout: `${config.timeouts.execution_heartbeat_s} s`,
    retry: { initialInterval: '2 s', backoffCoefficient: 2, maximumInterval: '1 min', maximumAttempts: 5, nonRetryableErrorTypes: ['InsufficientGpus', 'TaskEnvironmentUnavailable'] },
    // The workflow learns an execution was cancelled only once its process group is dead.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  };
  /** The GPU proxy with the step said in words, as the UI shows it beside the activity. */
  const gpu = (summary: string) => proxyActivities<typeof gpuActivities>({ ...gpuOptions, summary });

  // What is happening now: the loop's own step, unless versions are being written or executed.
  let loopPhase: Phase = 'starting';
  const active = { coding: 0, executing: 0 };
  // Runs started before this patch showed a version held by a pause as 'coding', and completed when
  // paused in their last iteration; their histories replay that way.
  const showsHolds = patched('paused-holds');
  const phase = (): Phase =>
    active.executing > 0 ? 'executing' : active.coding > 0 ? 'coding' : showsHolds && state.paused && !state.stopped ? 'paused' : loopPhase;

  const view = (): Omit<RunView, 'nodes' | 'updated_at'> => {
    const best = bestNode(state.nodes, objective);
    return {
      runId,
      task: task.id,
      model: config.model.id,
      science_runner: policy.id,
      phase: phase(),
      iteration: state.iteration,
      n_iterations: totalIterations(),
      ...(state.paused ? { paused: true } : {}),
      ...(state.stopped ? { stopped: state.stopped } : {}),
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
      gpu_seconds: Math.round(state.device_ms! / 100) / 10,
      ...(task.records ? { fsr: fsrOf(state.nodes, config) } : {}),
    };
  };

  /** Search attributes and the UI's current details, written only when they change. */
  let shown = '';
  const refresh = () => {
    const best = bestNode(state.nodes, objective);
    const p = phase();
    const key = `${p}|${state.iteration}|${best?.id}`;
    if (key === shown) return;
    shown = key;
    upsertSearchAttributes([
      { key: SA.Phase, value: p },
      { key: SA.Iteration, value: state.iteration },
      ...(best ? [{ key: SA.BestMetric, value: best.metrics[task.selection_metric] }] : []),
    ]);
    const running = state.nodes.filter((n) => n.status === 'pending').map((n) => `v_${n.id}`);
    setCurrentDetails(
      `${p} · iteration ${state.iteration}/${totalIterations()}` +
        (running.length ? ` · in progress: ${running.join(', ')}` : '') +
        (best ? ` · best ${task.selection_metric} ${best.metrics[task.selection_metric]} (v_${best.id})` : ''),
    );
  };
  const setLoopPhase = (p: Phase) => {
    loopPhase = p;
    refresh();
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
  let finishing = false;
  setHandler(
    retryNodeUpdate,
    (nodeId) => {
      state.retry_queue!.push(nodeId);
      return `v_${nodeId} will execute again before the next iteration (its current result is kept under 'previous')`;
    },
    {
      validator: (nodeId) => {
        const node = state.nodes[nodeId];
        if (!node) throw new Error(`run ${runId} has no node ${nodeId} (it has v_0..v_${state.nodes.length - 1})`);
        if (!node.snapshot) throw new Error(`v_${nodeId} has no code version to execute (${node.reason ?? node.status})`);
        if (node.status === 'pending' || state.retry_queue!.includes(nodeId)) throw new Error(`v_${nodeId} is already being measured`);
        if (finishing) throw new Error(`run ${runId} is finishing; fork it to measure v_${nodeId} again`);
      },
    },
  );

  /** Waits while the run is paused (an operator's stop also ends the wait). */
  const pausedUntilResumed = () => condition(() => !state.paused || Boolean(state.stopped));
  const holdIfPaused = async () => {
    if (!state.paused || state.stopped) return;
    const was = loopPhase;
    setLoopPhase('paused');
    await pausedUntilResumed();
    setLoopPhase(was);
  };

  const budgetReached = (): string | undefined => {
    const { usd, gpu_seconds, wall_clock_s } = config.budget;
    const spent = state.usage.cost_usd;
    const deviceS = state.device_ms! / 1000;
    const wallS = (Date.now() - state.started_ms!) / 1000;
    if (usd !== undefined && spent >= usd) return `budget: LLM spend $${spent.toFixed(2)} reached budget.usd=${usd}`;
    if (gpu_seconds !== undefined && deviceS >= gpu_seconds) return `budget: ${deviceS.toFixed(1)} GPU-seconds reached budget.gpu_seconds=${gpu_seconds}`;
    if (wall_clock_s !== undefined && wallS >= wall_clock_s) return `budget: ${wallS.toFixed(0)} s of wall clock reached budget.wall_clock_s=${wall_clock_s}`;
    return undefined;
  };

  const charge = (node: NodeRecord, usage: TokenUsage, llmMs: number) => {
    node.usage = addUsage(node.usage, usage);
    node.timings.llm_ms += llmMs;
    state.usage = addUsage(state.usage, usage);
  };

  let run = { runId, store: config.store, configRef: state.configRef ?? '' };

  /** Executes and analyzes a version; fills in the node's outcome. */
  const measure = async (node: NodeRecord, rerun = false) => {
    active.executing++;
    refresh();
    let exec;
    try {
      const gpus = task.gpus_per_execution;
      exec = await gpu(`${rerun ? 're-execute' : 'execute'} v_${node.id}${gpus ? ` on ${gpus} GPU${gpus > 1 ? 's' : ''}` : ''}`).execute({
        runId, nodeId: node.id, snapshot: node.snapshot!, task, data: config.data, store: config.store, ...(rerun ? { rerun } : {}),
      });
    } finally {
      active.executing--;
    }
    if (!exec.cached) state.device_ms! += exec.wallMs * Math.max(task.gpus_per_execution, 1);
    const verdict = await control.analyzeVersion({ run, nodeId: node.id, exec });
    Object.assign(node, { status: verdict.status, valid: verdict.valid, reason: verdict.reason, metrics: verdict.metrics, logRef: exec.logRef });
    if (Object.keys(verdict.private_metrics).length) node.private_metrics = verdict.private_metrics;
    if (verdict.summary) node.summary = verdict.summary;
    if (exec.eval) node.evalLogRef = exec.eval.logRef;
    charge(node, verdict.usage, verdict.llm_ms);
    addFlags(node, verdict.flags);
    node.timings.exec_ms = exec.wallMs;
    node.timings.harness_wall_ms = exec.wallMs;
    if (exec.cached) node.timings.exec_cached = true;
    else delete node.timings.exec_cached;
  };

  // Records go one at a time: each rewrites the run's stored view.
  let recording: Promise<void> = Promise.resolve();
  const record = (node?: NodeRecord) => {
    if (node) node.timings.finished_at = new Date().toISOString();
    const summary = view();
    recording = recording.then(() => control.recordProgress({ run, summary, node }));
    return recording;
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

  // Versions being written or executed. A failure that survived its retries fails the run, as it would
  // have one step at a time; the others still finish first.
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const launch = (work: Promise<void>) => {
    const tracked = work.catch((err) => void (failure ??= err)).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  const settle = async (until: () => boolean) => {
    await condition(() => until() || failure !== undefined);
    if (failure !== undefined) {
      await condition(() => inFlight.size === 0);
      throw failure;
    }
  };
  const drain = async () => {
    await settle(() => inFlight.size === 0);
    await recording;
  };

  /** Writes one hypothesis as a version, then executes, analyzes and records it. */
  const develop = async (node: NodeRecord, parent: NodeBrief, history: NodeBrief[], planRef: string) => {
    active.coding++;
    refresh();
    let coded;
    try {
      coded = config.coder === 'agent'
        ? await agentCode({ runId, config, nodeId: node.id, parent, planRef, history }) // each turn and tool call its own activity
        : await control.writeVersion({ run, nodeId: node.id, stage: node.stage as Exclude<Stage, 'root'>, parent, history, planRef });
    } finally {
      active.coding--;
    }
    charge(node, coded.usage, coded.llm_ms);
    if (coded.snapshot) {
      node.snapshot = coded.snapshot;
      addFlags(node, coded.flags);
      if (showsHolds && state.paused) refresh(); // held before executing: the phase says 'paused'
      await pausedUntilResumed();
      await measure(node);
    } else {
      Object.assign(node, { status: 'buggy', valid: false, reason: coded.error });
    }
    state.measured!.push(node.id);
    await record(node);
  };

  /** Operators' `retry-node` requests: the same version measured again, the old result kept beside. */
  const retryRequested = async () => {
    while (state.retry_queue!.length > 0) {
      const node = state.nodes[state.retry_queue![0]];
      const { status, valid, reason, metrics, logRef, timings } = node;
      node.previous = [...(node.previous ?? []), { status, valid, reason, metrics, logRef, finished_at: timings.finished_at }];
      node.status = 'pending';
      setLoopPhase('executing');
      await measure(node, true);
      state.retry_queue!.shift();
      state.measured!.push(node.id);
      await record(node);
    }
  };

  // Memo reverts to the start-time memo on continue-as-new: set it for this run of the chain.
  upsertMemo({ iterations_total: totalIterations(), ...(state.forked_from ? { forked_from: `${state.forked_from.runId}#v_${state.forked_from.nodeId}` } : {}) });

  if (!state.configRef) {
    const prepared = await control.prepareRun(config, { snapshotRoot: state.nodes.length === 0 });
    state.configRef = prepared.configRef;
    run = { ...run, configRef: prepared.configRef };
    if (state.nodes.length === 0) {
      const root = newNode('root', null, 'the starting code');
      root.snapshot = prepared.root;
      if (config.execute_root) await measure(root);
      else Object.assign(root, { status: 'ok', valid: false, reason: 'not executed (execute_root=false)' });
      await record(root);
    } else {
      for (const node of state.nodes) await record(node); // a fork's lineage, laid out as this run's v_0..v_k
    }
  }

  const startedAt = state.iteration;
  for (;;) {
    await retryRequested();
    state.stopped ??= budgetReached();
    // A run paused in its last iteration holds too, rather than complete: it can still be extended.
    if (showsHolds) await holdIfPaused();
    if (state.stopped || state.iteration >= totalIterations() || childCount() >= policy.max_n_nodes) break;
    await holdIfPaused();
    if (state.stopped) break;
    if (state.iteration - startedAt >= config.continue_as_new_every || workflowInfo().continueAsNewSuggested) {
      await drain();
      await continueAsNew<typeof speedrunWorkflow>({ config, carried: state });
    }
    state.iteration++;
    state.current = selectCurrent(state.nodes, policy.selection_scope, objective, state.current ?? bestNode(state.nodes, objective)?.id ?? 0, state.measured);
    state.measured = [];
    const { plan, rng } = planIteration(state.nodes, policy, state.current, state.rng);
    state.rng = rng;
    const parent = briefOf(state.nodes[plan.parent]);
    const history = relevantHistory(state.nodes, state.nodes[plan.parent]);
    const count = Math.min(plan.count, policy.max_n_nodes - childCount());

    setLoopPhase('ideating');
    const proposed: string[] = [];
    for (let i = 0; i < count && !state.stopped; i++) {
      if (i > 0) await holdIfPaused();
      if (state.stopped) break;
      const node = newNode(plan.stage, parent.id, '');
      const idea = await control.proposeHypothesis({ run, nodeId: node.id, stage: plan.stage, parent, history, proposed });
      Object.assign(node, { plan: idea.plan, planRef: idea.planRef });
      charge(node, idea.usage, idea.llm_ms);
      proposed.push(idea.planRef);
      if (idea.duplicate) {
        Object.assign(node, { status: 'buggy', valid: false, reason: 'the model repeated a hypothesis already proposed in this iteration' });
        state.measured.push(node.id);
        await record(node);
        continue;
      }
      launch(develop(node, parent, history, idea.planRef));
    }
    setLoopPhase('coding');
    // With `pipeline`, the next iteration is planned while executions are still in flight.
    if (config.pipeline) await settle(() => inFlight.size < config.max_outstanding_executions);
    else await settle(() => inFlight.size === 0);
  }

  await drain();
  finishing = true;
  await retryRequested();
  setLoopPhase('done');
  await record();
  const final = view();
  return {
    runId,
    best: final.best,
    ...(final.fsr !== undefined ? { fsr: final.fsr } : {}),
    nodes: state.nodes.length,
    buggy: state.nodes.filter((n) => !n.valid).length,
    ...(state.stopped ? { stopped: state.stopped } : {}),
    usage: state.usage,
    gpu_seconds: final.gpu_seconds,
  };
}

function addFlags(node: NodeRecord, flags: string[] | undefined) {
  if (flags?.length) node.flags = [...(node.flags ?? []), ...flags];
}

/** FSR over the scored versions; with none faster, t_agent is t_R and FSR is 0. */
function fsrOf(nodes: NodeRecord[], config: RunConfig): number {
  const { records, metrics_at_most } = config.task;
  return treeFsr(nodes, records!, { target: metrics_at_most.val_loss ?? IN_RUN_VALIDITY.target }).fsr;
}
