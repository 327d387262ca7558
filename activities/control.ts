// Activities of the control worker (task queue `speedrunner`): LLM calls, edits, analysis, records.
// Thin wrappers over library functions; each is idempotent (content-addressed outputs, cached replies).
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RunConfig } from '../src/config/schema';
import { heartbeatEveryMs } from './heartbeat';
import * as steps from '../src/agent/steps';
import { NonRetryableLlmError } from '../src/llm/providers';
import { recordNode as recordNodeInStore } from '../src/runs/run-view-store';
import type { NodeRecord, RunView } from '../src/search/types';
import { ArtifactStore } from '../src/store/artifact-store';

const storeOf = (config: RunConfig) => new ArtifactStore(config.store);

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

export async function prepareRoot(config: RunConfig): Promise<string> {
  try {
    return await steps.snapshotTemplate(storeOf(config), config);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'TaskError');
  }
}

export async function ideate(input: steps.AgentStepInput) {
  return withHeartbeat((signal) => steps.ideate(storeOf(input.config), input, signal));
}

export async function code(input: steps.AgentStepInput & { planRef: string }) {
  return withHeartbeat((signal) => steps.code(storeOf(input.config), input, signal));
}

export async function analyze(config: RunConfig, execution: steps.ExecutionReport) {
  return steps.analyze(storeOf(config), config, execution);
}

export async function recordNode(config: RunConfig, summary: Omit<RunView, 'nodes' | 'updated_at'>, node?: NodeRecord) {
  await recordNodeInStore(storeOf(config), config.workspace_dir, summary, node);
}
