// Activities of the control worker (task queue `speedrunner`): LLM calls, edits, analysis, records.
// Thin wrappers over library functions; each is idempotent (content-addressed outputs, cached replies).
// A run's config travels once, to `prepareRun`; later calls name it by its hash in the store.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RunConfig } from '../src/config/schema';
import { heartbeatEveryMs } from './heartbeat';
import * as steps from '../src/agent/steps';
import { analyzeExecution } from '../src/agent/analysis';
import { codeVersion } from '../src/coders/code-version';
import { NonRetryableLlmError } from '../src/llm/providers';
import { recordNode as recordNodeInStore } from '../src/runs/run-view-store';
import type { NodeRecord, RunView } from '../src/search/types';
import { ArtifactStore } from '../src/store/artifact-store';

/** Names a run's config without carrying it: activities load it from the store by hash. */
export interface RunRef {
  runId: string;
  store: string;
  configRef: string;
}

const configs = new Map<string, RunConfig>();

async function open(run: RunRef): Promise<{ store: ArtifactStore; config: RunConfig }> {
  const store = new ArtifactStore(run.store);
  let config = configs.get(run.configRef);
  if (!config) {
    config = await store.getJson<RunConfig>(run.configRef);
    if (configs.size > 256) configs.clear();
    configs.set(run.configRef, config);
  }
  return { store, config };
}

/** Heartbeats while `work` runs, so a dead worker is noticed within the heartbeat timeout, not the call's. */
async function withHeartbeat<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), heartbeatEveryMs(ctx));
  try {
    return await work(ctx.cancellationSignal);
  } catch (err) {
    if (err instanceof NonRetryableLlmError) throw ApplicationFailure.nonRetryable(err.message, 'NonRetryableLlmError');
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** Stores the run's config (activities read it by hash) and the starting code as v_0. */
export async function prepareRun(config: RunConfig, opts: { snapshotRoot?: boolean } = {}): Promise<{ configRef: string; root: string }> {
  const store = new ArtifactStore(config.store);
  const configRef = await store.putJson(config);
  configs.set(configRef, config);
  if (opts.snapshotRoot === false) return { configRef, root: '' };
  try {
    return { configRef, root: await steps.snapshotTemplate(store, config) };
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'TaskError');
  }
}

type StepInput = Omit<steps.AgentStepInput, 'config' | 'runId'> & { run: RunRef };

export async function proposeHypothesis(input: StepInput & { proposed?: string[] }) {
  const { store, config } = await open(input.run);
  return withHeartbeat((signal) => steps.ideate(store, { ...input, runId: input.run.runId, config }, signal));
}

export async function writeVersion(input: StepInput & { planRef: string }) {
  const { store, config } = await open(input.run);
  return withHeartbeat((signal) => codeVersion(store, { ...input, runId: input.run.runId, config }, signal));
}

export async function analyzeVersion(input: { run: RunRef; nodeId: number; exec: steps.ExecutionReport }) {
  const { store, config } = await open(input.run);
  return withHeartbeat((signal) => analyzeExecution(store, { runId: input.run.runId, nodeId: input.nodeId, config, exec: input.exec }, signal));
}

export async function recordProgress(input: { run: RunRef; summary: Omit<RunView, 'nodes' | 'updated_at'>; node?: NodeRecord }) {
  const { store, config } = await open(input.run);
  await recordNodeInStore(store, config.workspace_dir, input.summary, input.node);
}
