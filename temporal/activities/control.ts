// Activities of the control worker (task queue `speedrunner`): LLM calls, edits, analysis, records.
// Thin wrappers over library functions; each is idempotent (content-addressed outputs, cached replies).
// A run's config travels once, to `prepareRun`; later calls name it by its hash in the store.
import { ApplicationFailure } from '@temporalio/common';
import type { RunConfig } from '../../src/config/schema';
import { withHeartbeat, type RunConfigs, type RunRef } from './run-context';
import * as steps from '../../src/agent/steps';
import { analyzeExecution } from '../../src/agent/analysis';
import { codeVersion } from '../../src/coders/code-version';
import type { ExecutionResult } from '../../src/exec/result';
import { recordNode as recordNodeInStore } from '../../src/store/run-view-store';
import type { NodeRecord, RunView } from '../../core/types';

type StepInput = Omit<steps.AgentStepInput, 'config' | 'runId'> & { run: RunRef };

/** What the control activities need from their worker: its cache of run configs. */
export interface ControlDeps {
  configs: RunConfigs;
}

export const createControlActivities = ({ configs }: ControlDeps) => ({
  /** Stores the run's config (activities read it by hash) and the starting code as v_0. */
  async prepareRun(
    config: RunConfig,
    opts: { snapshotRoot?: boolean } = {},
  ): Promise<{ configRef: string; root: string }> {
    const { store, configRef } = await configs.put(config);
    if (opts.snapshotRoot === false) return { configRef, root: '' };
    try {
      return { configRef, root: await steps.snapshotTemplate(store, config) };
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'TaskError');
    }
  },

  async proposeHypothesis(input: StepInput & { proposed?: string[] }) {
    const { store, config } = await configs.open(input.run);
    return withHeartbeat((signal) => steps.ideate(store, { ...input, runId: input.run.runId, config }, signal));
  },

  async writeVersion(input: StepInput & { planRef: string }) {
    const { store, config } = await configs.open(input.run);
    return withHeartbeat((signal) => codeVersion(store, { ...input, runId: input.run.runId, config }, signal));
  },

  async analyzeVersion(input: { run: RunRef; nodeId: number; exec: ExecutionResult }) {
    const { store, config } = await configs.open(input.run);
    return withHeartbeat((signal) =>
      analyzeExecution(store, { runId: input.run.runId, nodeId: input.nodeId, config, exec: input.exec }, signal),
    );
  },

  async recordProgress(input: { run: RunRef; summary: Omit<RunView, 'nodes' | 'updated_at'>; node?: NodeRecord }) {
    const { store, config } = await configs.open(input.run);
    await recordNodeInStore(store, config.workspace_dir, input.summary, input.node, input.run.configRef);
  },
});
