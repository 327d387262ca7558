// One version's life: proposed, written, executed, analyzed and recorded; and measured again when an
// operator asks. Fills in the node; the loop decides which versions to make.
import type { RunConfig } from '../../src/config/schema';
import type { NodeBrief } from '../../core/history';
import type { RunState } from '../../core/run-state';
import type { NodeRecord, Stage } from '../../core/types';
import { addUsage, noUsage, type TokenUsage } from '../../core/usage';
import { integrityReason } from '../../core/violations';
import { agentCode } from './agent-coder';
import type { InFlightPool } from './in-flight';
import { gpuProxy, type ControlActivities, type RunRef } from './run-context';
import type { RunProgress } from './run-progress';
import type { Steering } from './steering';

export class Versions {
  constructor(
    private readonly state: RunState,
    private readonly config: RunConfig,
    private readonly runId: string,
    private readonly control: ControlActivities,
    private readonly run: () => RunRef,
    private readonly progress: RunProgress,
    private readonly steering: Steering,
  ) {}

  create(stage: Stage, parent: number | null, plan: string): NodeRecord {
    const node: NodeRecord = {
      id: this.state.nodes.length,
      parent,
      stage,
      iteration: this.state.iteration,
      plan,
      status: 'pending',
      valid: false,
      metrics: {},
      timings: { started_at: new Date().toISOString(), llm_ms: 0, exec_ms: 0 },
      usage: noUsage(),
    };
    this.state.nodes.push(node);
    return node;
  }

  /**
   * Proposes `count` hypotheses from `parent` (never the same twice in one iteration) and launches a
   * version for each into `pool`. A pause holds before each new proposal; a stop ends the round.
   */
  async proposeRound(
    stage: Exclude<Stage, 'root'>,
    parent: NodeBrief,
    history: NodeBrief[],
    count: number,
    pool: InFlightPool,
    secondParent?: NodeBrief,
  ): Promise<void> {
    const proposed: string[] = [];
    const second = secondParent ? { secondParent } : {}; // a crossover's other parent; absent otherwise
    for (let i = 0; i < count && !this.state.stopped; i++) {
      if (i > 0) await this.steering.holdIfPaused();
      if (this.state.stopped) break;
      const node = this.create(stage, parent.id, '');
      if (secondParent) node.parents = [parent.id, secondParent.id];
      const idea = await this.control.proposeHypothesis({
        run: this.run(),
        nodeId: node.id,
        stage,
        parent,
        history,
        proposed,
        ...second,
      });
      Object.assign(node, { plan: idea.plan, planRef: idea.planRef });
      this.charge(node, idea.usage, idea.llm_ms);
      proposed.push(idea.planRef);
      if (idea.duplicate) {
        Object.assign(node, {
          status: 'buggy',
          valid: false,
          reason: 'the model repeated a hypothesis already proposed in this iteration',
        });
        this.state.measured.push(node.id);
        await this.progress.record(node);
        continue;
      }
      pool.launch(this.develop(node, parent, history, idea.planRef, secondParent));
    }
  }

  /** Writes one hypothesis as a version, then executes, analyzes and records it. */
  async develop(
    node: NodeRecord,
    parent: NodeBrief,
    history: NodeBrief[],
    planRef: string,
    secondParent?: NodeBrief,
  ): Promise<void> {
    const { config, runId } = this;
    const second = secondParent ? { secondParent } : {};
    const coded = await this.progress.during('coding', () =>
      config.coder === 'agent'
        ? agentCode({ runId, config, nodeId: node.id, parent, planRef, history }) // each turn and tool call its own activity (the agent sees one parent)
        : this.control.writeVersion({
            run: this.run(),
            nodeId: node.id,
            stage: node.stage as Exclude<Stage, 'root'>,
            parent,
            history,
            planRef,
            ...second,
          }),
    );
    this.charge(node, coded.usage, coded.llm_ms);
    if (coded.snapshot && coded.violations?.length) {
      // Excluded by its diff alone: recorded with the rule, and no GPU time spent on it.
      Object.assign(node, {
        snapshot: coded.snapshot,
        status: 'buggy',
        valid: false,
        reason: integrityReason(coded.violations),
        violations: coded.violations,
      });
      addFlags(node, coded.flags);
    } else if (coded.snapshot) {
      node.snapshot = coded.snapshot;
      if (coded.notes) node.notes = coded.notes;
      addFlags(node, coded.flags);
      if (this.state.paused) this.progress.refresh(); // held before executing: the phase says 'paused'
      await this.steering.pausedUntilResumed();
      await this.measure(node);
    } else {
      Object.assign(node, { status: 'buggy', valid: false, reason: coded.error });
    }
    this.state.measured.push(node.id);
    await this.progress.record(node);
  }

  /** Executes and analyzes a version; fills in the node's outcome. */
  async measure(node: NodeRecord, rerun = false): Promise<void> {
    const { task } = this.config;
    const gpus = task.gpus_per_execution;
    const step = `${rerun ? 're-execute' : 'execute'} v_${node.id}${gpus ? ` on ${gpus} GPU${gpus > 1 ? 's' : ''}` : ''}`;
    const exec = await this.progress.during('executing', () =>
      gpuProxy(this.config, step).execute({
        runId: this.runId,
        nodeId: node.id,
        snapshot: node.snapshot!,
        task,
        data: this.config.data,
        store: this.config.store,
        ...(rerun ? { rerun } : {}),
      }),
    );
    if (!exec.cached) this.state.device_ms += exec.wallMs * Math.max(gpus, 1);
    const verdict = await this.control.analyzeVersion({ run: this.run(), nodeId: node.id, exec });
    Object.assign(node, {
      status: verdict.status,
      valid: verdict.valid,
      reason: verdict.reason,
      metrics: verdict.metrics,
      logRef: exec.logRef,
    });
    if (Object.keys(verdict.private_metrics).length) node.private_metrics = verdict.private_metrics;
    if (verdict.summary) node.summary = verdict.summary;
    if (exec.eval) node.evalLogRef = exec.eval.logRef;
    this.charge(node, verdict.usage, verdict.llm_ms);
    addFlags(node, verdict.flags);
    if (verdict.violations?.length) node.violations = verdict.violations;
    node.timings.exec_ms = exec.wallMs;
    node.timings.harness_wall_ms = exec.wallMs;
    if (exec.cached) node.timings.exec_cached = true;
    else delete node.timings.exec_cached;
  }

  /** Operators' `retry-node` requests: the same version measured again, the old result kept beside. */
  async measureRetries(): Promise<void> {
    const { state } = this;
    while (state.retry_queue.length > 0) {
      const node = state.nodes[state.retry_queue[0]];
      const { status, valid, reason, metrics, logRef, timings } = node;
      node.previous = [
        ...(node.previous ?? []),
        { status, valid, reason, metrics, logRef, finished_at: timings.finished_at },
      ];
      node.status = 'pending';
      this.progress.setLoopPhase('executing');
      await this.measure(node, true);
      state.retry_queue.shift();
      state.measured.push(node.id);
      await this.progress.record(node);
    }
  }

  private charge(node: NodeRecord, usage: TokenUsage, llmMs: number): void {
    node.usage = addUsage(node.usage, usage);
    node.timings.llm_ms += llmMs;
    this.state.usage = addUsage(this.state.usage, usage);
  }
}

function addFlags(node: NodeRecord, flags: string[] | undefined) {
  if (flags?.length) node.flags = [...(node.flags ?? []), ...flags];
}
