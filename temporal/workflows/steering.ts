// How operators steer a run: the messages (declared here, beside the handlers that answer them) and
// the pause that every step of the loop honours.
import { condition, defineQuery, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';
import { totalIterations } from '../../core/run-view';
import type { RunState } from '../../core/run-state';
import type { RunConfig } from '../../src/config/schema';
import type { RunView } from '../../core/types';
import type { RunProgress } from './run-progress';

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

export class Steering {
  /** Set once the loop is done: a retry asked for then would never run. */
  finishing = false;

  constructor(
    private readonly state: RunState,
    private readonly config: RunConfig,
    private readonly runId: string,
    private readonly progress: RunProgress,
  ) {}

  install(): void {
    const { state } = this;
    setHandler(stateQuery, () => ({ ...this.progress.summary(), nodes: state.nodes.length, updated_at: '' }));
    setHandler(treeQuery, () => ({ ...this.progress.summary(), nodes: state.nodes, updated_at: '' }));
    setHandler(pauseSignal, () => void (state.paused = true));
    setHandler(resumeSignal, () => void (state.paused = false));
    setHandler(stopSignal, (reason) => void (state.stopped ??= reason || 'stopped by an operator'));
    setHandler(extendUpdate, (iterations) => this.extend(iterations), { validator: validateExtend });
    setHandler(retryNodeUpdate, (nodeId) => this.queueRetry(nodeId), {
      validator: (nodeId) => this.validateRetry(nodeId),
    });
  }

  /** Waits while the run is paused (an operator's stop also ends the wait). */
  pausedUntilResumed(): Promise<void> {
    return condition(() => !this.state.paused || Boolean(this.state.stopped));
  }

  /** Holds the loop while paused, showing phase 'paused'. */
  async holdIfPaused(): Promise<void> {
    if (!this.state.paused || this.state.stopped) return;
    const was = this.progress.currentLoopPhase;
    this.progress.setLoopPhase('paused');
    await this.pausedUntilResumed();
    this.progress.setLoopPhase(was);
  }

  private extend(iterations: number): number {
    this.state.extra_iterations += iterations;
    return totalIterations(this.state, this.config);
  }

  private queueRetry(nodeId: number): string {
    this.state.retry_queue.push(nodeId);
    return `v_${nodeId} will execute again before the next iteration (its current result is kept under 'previous')`;
  }

  private validateRetry(nodeId: number): void {
    const { state, runId } = this;
    const node = state.nodes[nodeId];
    if (!node) throw new Error(`run ${runId} has no node ${nodeId} (it has v_0..v_${state.nodes.length - 1})`);
    if (!node.snapshot) throw new Error(`v_${nodeId} has no code version to execute (${node.reason ?? node.status})`);
    if (node.status === 'pending' || state.retry_queue.includes(nodeId))
      throw new Error(`v_${nodeId} is already being measured`);
    if (this.finishing) throw new Error(`run ${runId} is finishing; fork it to measure v_${nodeId} again`);
  }
}

function validateExtend(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new Error('extend takes a positive whole number of iterations');
}
