// coder=agent: a tool-using loop as a deterministic workflow function. Each model turn and each tool
// call is its own activity, so a crash resumes mid-loop and a completed turn is never paid again. The
// loop holds only hashes: the working snapshot and the conversation's messages blob.
import { proxyActivities } from '@temporalio/workflow';
import type { AgentActivities } from './run-context';
import type { CodeResult } from '../../src/agent/steps';
import type { RunConfig } from '../../src/config/schema';
import { addUsage, noUsage } from '../../core/usage';
import type { NodeBrief } from '../../core/history';
import { llmActivityOptions } from './activity-options';

export interface AgentCodeInput {
  runId: string;
  config: RunConfig;
  nodeId: number;
  parent: NodeBrief;
  planRef: string;
  history: NodeBrief[];
}

export async function agentCode(input: AgentCodeInput): Promise<CodeResult> {
  const { config, parent } = input;
  const acts = proxyActivities<AgentActivities>(llmActivityOptions(config));
  const { ref, messagesRef: first } = await acts.agentStart({
    runId: input.runId,
    config,
    parent,
    planRef: input.planRef,
    history: input.history,
  });
  let messagesRef = first;
  let snapshot = parent.snapshot!;
  let results: { id: string; name: string; resultRef: string }[] = [];
  let usage = noUsage();
  let llm_ms = 0;
  let step = 0;
  let ended: string | undefined;
  while (!ended) {
    if (step >= config.agent.max_steps) ended = `stopped at agent.max_steps=${config.agent.max_steps}`;
    else if (usage.input_tokens + usage.output_tokens >= config.agent.max_tokens)
      ended = `stopped at agent.max_tokens=${config.agent.max_tokens}`;
    if (ended) break;
    const turn = await acts.agentTurn({ ref, nodeId: input.nodeId, step, messagesRef, results });
    step++;
    messagesRef = turn.messagesRef;
    usage = addUsage(usage, turn.usage);
    llm_ms += turn.llm_ms;
    results = [];
    // A reply without tool calls ends the work like `finish` does.
    if (turn.calls.length === 0) ended = 'finished without a tool call';
    for (const call of turn.calls) {
      if (call.name === 'finish') {
        ended = 'finished';
        break;
      }
      const out = await acts.agentTool({ ref, snapshot, messagesRef, callId: call.id });
      snapshot = out.snapshot;
      results.push({ id: call.id, name: call.name, resultRef: out.resultRef });
    }
  }
  if (snapshot === parent.snapshot)
    return { error: `the agent made no change (${ended} after ${step} steps)`, attempts: step, usage, llm_ms };
  const review = await acts.agentFlags({ ref, parent: parent.snapshot!, snapshot });
  return { snapshot, ...review, attempts: step, usage, llm_ms };
}

/** The agentic coder as a workflow of its own (tests; a run calls `agentCode` inside its workflow). */
export async function agentCoderWorkflow(input: AgentCodeInput): Promise<CodeResult> {
  return agentCode(input);
}
