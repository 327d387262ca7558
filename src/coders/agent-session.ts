// The agentic coder's conversation, step by step over the store: the workflow (workflows/agent-coder.ts)
// holds only hashes (the working snapshot, the messages blob) and calls these through activities.
import { codeBlock, rolePrompt, section } from '../agent/prompts';
import type { RunConfig } from '../config/schema';
import { cachedToolChat } from '../llm/cached-chat';
import type { AgentMessage } from '../llm/types';
import type { TokenUsage } from '../../core/usage';
import type { NodeBrief } from '../../core/history';
import type { CodeResult } from '../agent/steps';
import type { ArtifactStore } from '../store/artifact-store';
import { reviewChanges } from './edit-loop';
import { AGENT_TOOLS, runTool } from './agent-tools';

export interface AgentStartInput {
  config: RunConfig;
  parent: NodeBrief;
  planRef: string;
  history: NodeBrief[];
}

/** The first user message: the plan, the editable files, the version's file list and earlier nodes. */
export async function startConversation(store: ArtifactStore, input: AgentStartInput): Promise<string> {
  const { config, parent } = input;
  const { fnames } = config.task;
  const all = Object.keys((await store.getSnapshot(parent.snapshot!)).files);
  const files = await store.readSnapshotFiles(parent.snapshot!, fnames);
  const user = [
    section('Plan', await store.getText(input.planRef)),
    section('Files you may edit', fnames.join(', ')),
    section('All files of the version', all.join('\n')),
    section('Current editable files', codeBlock(files)),
    section(
      'Earlier versions',
      input.history.map((n) => `- v_${n.id} (${n.stage}): ${n.plan.split('\n')[0]} → ${n.status}`).join('\n'),
    ),
    section('Instructions', config.task.code_instructions),
  ].join('\n');
  const messages: AgentMessage[] = [{ role: 'user', content: user }];
  return store.putJson(messages);
}

export interface ToolResultRef {
  id: string;
  name: string;
  resultRef: string;
}

export interface TurnResult {
  messagesRef: string;
  /** The tool calls asked for, by id and name only: arguments stay in the messages blob. */
  calls: { id: string; name: string }[];
  usage: TokenUsage;
  llm_ms: number;
}

/** One model turn: the previous turn's tool results are appended, the model is asked (cached per step). */
export async function agentTurn(
  store: ArtifactStore,
  input: {
    runId: string;
    config: RunConfig;
    nodeId: number;
    step: number;
    messagesRef: string;
    results: ToolResultRef[];
  },
  signal?: AbortSignal,
): Promise<TurnResult> {
  const { config } = input;
  const messages = await store.getJson<AgentMessage[]>(input.messagesRef);
  for (const r of input.results)
    messages.push({ role: 'tool', tool_call_id: r.id, name: r.name, content: await store.getText(r.resultRef) });
  const started = Date.now();
  const reply = await cachedToolChat(
    store,
    config.model,
    { system: rolePrompt('agent'), messages, tools: AGENT_TOOLS },
    { runId: input.runId, nodeId: input.nodeId, role: 'agent', attempt: input.step },
    signal,
  );
  messages.push({
    role: 'assistant',
    content: reply.text,
    ...(reply.tool_calls.length ? { tool_calls: reply.tool_calls } : {}),
  });
  return {
    messagesRef: await store.putJson(messages),
    calls: reply.tool_calls.map(({ id, name }) => ({ id, name })),
    usage: reply.usage,
    llm_ms: reply.cached ? 0 : Date.now() - started,
  };
}

/** Runs the tool call `callId` of the newest assistant message against the working snapshot. */
export async function agentTool(
  store: ArtifactStore,
  input: { config: RunConfig; snapshot: string; messagesRef: string; callId: string },
): Promise<{ snapshot: string; resultRef: string; ok: boolean }> {
  const messages = await store.getJson<AgentMessage[]>(input.messagesRef);
  const last = messages[messages.length - 1];
  const call = last?.role === 'assistant' ? last.tool_calls?.find((c) => c.id === input.callId) : undefined;
  if (!call)
    throw new Error(`tool call ${input.callId} is not in the newest assistant message of ${input.messagesRef}`);
  const out = await runTool(store, input.config, input.snapshot, call.name, call.arguments);
  return { snapshot: out.snapshot, resultRef: await store.putBlob(out.output), ok: out.ok };
}

/** Warnings and static-rule violations of the result against the parent version (see reviewChanges). */
export async function agentFlags(
  store: ArtifactStore,
  input: { config: RunConfig; parent: string; snapshot: string },
): Promise<Pick<CodeResult, 'flags' | 'violations'>> {
  const { fnames } = input.config.task;
  const before = await store.readSnapshotFiles(input.parent, fnames);
  const after = await store.readSnapshotFiles(input.snapshot, fnames);
  const changed = Object.fromEntries(Object.entries(after).filter(([p, t]) => t !== before[p]));
  return reviewChanges(before, changed, input.config.data.val_tokens);
}
