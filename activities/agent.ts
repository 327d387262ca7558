// Activities of the agentic coder (coder=agent), on the control queue: one per model turn and one per
// tool call, so a crashed worker resumes the loop mid-way. Thin wrappers over src/coders/agent-session.ts;
// inputs and outputs are hashes, never file contents.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RunConfig } from '../src/config/schema';
import * as session from '../src/coders/agent-session';
import { NonRetryableLlmError } from '../src/llm/providers';
import type { NodeBrief } from '../src/search/history';
import { ArtifactStore } from '../src/store/artifact-store';
import { heartbeatEveryMs } from './heartbeat';

/** Names the agent's config without carrying it: stored once by `agentStart`, read by hash after. */
export interface AgentRef {
  runId: string;
  store: string;
  configRef: string;
}

const configs = new Map<string, RunConfig>();

async function open(ref: AgentRef): Promise<{ store: ArtifactStore; config: RunConfig }> {
  const store = new ArtifactStore(ref.store);
  let config = configs.get(ref.configRef);
  if (!config) {
    config = await store.getJson<RunConfig>(ref.configRef);
    if (configs.size > 256) configs.clear();
    configs.set(ref.configRef, config);
  }
  return { store, config };
}

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

export async function agentStart(input: { runId: string; config: RunConfig; parent: NodeBrief; planRef: string; history: NodeBrief[] }): Promise<{ ref: AgentRef; messagesRef: string }> {
  const store = new ArtifactStore(input.config.store);
  const configRef = await store.putJson(input.config);
  configs.set(configRef, input.config);
  return { ref: { runId: input.runId, store: input.config.store, configRef }, messagesRef: await session.startConversation(store, input) };
}

export async function agentTurn(input: { ref: AgentRef; nodeId: number; step: number; messagesRef: string; results: session.ToolResultRef[] }): Promise<session.TurnResult> {
  const { store, config } = await open(input.ref);
  return withHeartbeat((signal) => session.agentTurn(store, { ...input, runId: input.ref.runId, config }, signal));
}

export async function agentTool(input: { ref: AgentRef; snapshot: string; messagesRef: string; callId: string }) {
  const { store, config } = await open(input.ref);
  return withHeartbeat(() => session.agentTool(store, { ...input, config }));
}

export async function agentFlags(input: { ref: AgentRef; parent: string; snapshot: string }): Promise<string[]> {
  const { store, config } = await open(input.ref);
  return session.agentFlags(store, { ...input, config });
}
