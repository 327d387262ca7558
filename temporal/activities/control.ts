// Activities of the control worker (task queue `speedrunner`): LLM calls, edits, analysis, records.
// Thin wrappers over library functions; each is idempotent (content-addressed outputs, cached replies).
// A run's config travels once, to `prepareRun`; later calls name it by its hash in the store.
import { ApplicationFailure } from '@temporalio/common';
import type { RunConfig } from '../../src/config/schema';
import { openRun, storeConfig, withHeartbeat, type RunRef } from './run-context';
import * as steps from '../../src/agent/steps';
import { analyzeExecution } from '../../src/agent/analysis';
import { codeVersion } from '../../src/coders/code-version';
import { recordNode as recordNodeInStore } from '../../src/store/run-view-store';
import type { NodeRecord, RunView } from '../../core/types';

/** Stores the run's config (activities read it by hash) and the starting code as v_0. */
export async function prepareRun(config: RunConfig, opts: { snapshotRoot?: boolean } = {}): Promise<{ configRef: string; root: string }> {
  const { store, configRef } = await storeConfig(config);
  if (opts.snapshotRoot === false) return { configRef, root: '' };
  try {
    return { configRef, root: await steps.snapshotTemplate(store, config) };
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'TaskError');
  }
}

type StepInput = Omit<steps.AgentStepInput, 'config' | 'runId'> & { run: RunRef };

export async function proposeHypothesis(input: StepInput & { proposed?: string[] }) {
  const { store, config } = await openRun(input.run);
  return withHeartbeat((signal) => steps.ideate(store, { ...input, runId: input.run.runId, config }, signal));
}

export async function writeVersion(input: StepInput & { planRef: string }) {
  const { store, config } = await openRun(input.run);
  return withHeartbeat((signal) => codeVersion(store, { ...input, runId: input.run.runId, config }, signal));
}

export async function analyzeVersion(input: { run: RunRef; nodeId: number; exec: steps.ExecutionReport }) {
  const { store, config } = await openRun(input.run);
  return withHeartbeat((signal) => analyzeExecution(store, { runId: input.run.runId, nodeId: input.nodeId, config, exec: input.exec }, signal));
}

export async function recordProgress(input: { run: RunRef; summary: Omit<RunView, 'nodes' | 'updated_at'>; node?: NodeRecord }) {
  const { store, config } = await openRun(input.run);
  await recordNodeInStore(store, config.workspace_dir, input.summary, input.node);
}
