// What the run shows while it works: its phase, the search attributes and current details in the
// UI, and the run view in the store (records go one at a time: each rewrites the stored view).
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunConfig } from '../../src/config/schema';
import { bestNode } from '../../core/policy';
import type { RunState } from '../../core/run-state';
import { objectiveOf, runSummary, totalIterations, type RunSummary } from '../../core/run-view';
import { SA } from '../../core/search-attributes';
import type { NodeRecord, Phase } from '../../core/types';
import type { ControlActivities, RunRef } from './run-context';

export class RunProgress {
  private loopPhase: Phase = 'starting';
  private readonly active = { coding: 0, executing: 0 };
  private shown = '';
  private recording: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: RunState,
    private readonly config: RunConfig,
    private readonly runId: string,
    private readonly control: ControlActivities,
    private readonly run: () => RunRef,
  ) {}

  /** What is happening now: the loop's own step, unless versions are being written or executed. */
  phase(): Phase {
    if (this.active.executing > 0) return 'executing';
    if (this.active.coding > 0) return 'coding';
    return this.state.paused && !this.state.stopped ? 'paused' : this.loopPhase;
  }

  summary(): RunSummary {
    return runSummary(this.state, this.config, this.runId, this.phase());
  }

  setLoopPhase(phase: Phase): void {
    this.loopPhase = phase;
    this.refresh();
  }

  get currentLoopPhase(): Phase {
    return this.loopPhase;
  }

  /** Counts `work` as writing or executing a version while it runs. */
  async during<T>(kind: 'coding' | 'executing', work: () => Promise<T>): Promise<T> {
    this.active[kind]++;
    this.refresh();
    try {
      return await work();
    } finally {
      this.active[kind]--;
    }
  }

  /** Search attributes and the UI's current details, written only when they change. */
  refresh(): void {
    const { state, config } = this;
    const metric = config.task.selection_metric;
    const best = bestNode(state.nodes, objectiveOf(config));
    const phase = this.phase();
    const key = `${phase}|${state.iteration}|${best?.id}`;
    if (key === this.shown) return;
    this.shown = key;
    upsertSearchAttributes([
      { key: SA.Phase, value: phase },
      { key: SA.Iteration, value: state.iteration },
      ...(best ? [{ key: SA.BestMetric, value: best.metrics[metric] }] : []),
    ]);
    const running = state.nodes.filter((n) => n.status === 'pending').map((n) => `v_${n.id}`);
    setCurrentDetails(
      `${phase} · iteration ${state.iteration}/${totalIterations(state, config)}` +
        (running.length ? ` · in progress: ${running.join(', ')}` : '') +
        (best ? ` · best ${metric} ${best.metrics[metric]} (v_${best.id})` : ''),
    );
  }

  /** Writes the run view (and a finished node) to the store, after every earlier record. */
  record(node?: NodeRecord): Promise<void> {
    if (node) node.timings.finished_at = new Date().toISOString();
    const summary = this.summary();
    this.recording = this.recording.then(() => this.control.recordProgress({ run: this.run(), summary, node }));
    return this.recording;
  }

  /** Resolves once every record asked for so far is written. */
  recorded(): Promise<void> {
    return this.recording;
  }
}
