// Activities of the agentic coder (coder=agent), on the control queue: one per model turn and one per
// tool call, so a crashed worker resumes the loop mid-way. Thin wrappers over src/coders/agent-session.ts;
// inputs and outputs are hashes, never file contents.
import type { RunConfig } from '../../src/config/schema';
import * as session from '../../src/coders/agent-session';
import type { NodeBrief } from '../../core/history';
import { withHeartbeat, type RunConfigs, type RunRef } from './run-context';

/** Names the agent's config: stored once by `agentStart`, read by hash after. */
export type AgentRef = RunRef;

/** The agent's activities share the control worker's run configs. */
export const createAgentActivities = ({ configs }: { configs: RunConfigs }) => ({
  async agentStart(input: {
    runId: string;
    config: RunConfig;
    parent: NodeBrief;
    planRef: string;
    history: NodeBrief[];
  }): Promise<{ ref: AgentRef; messagesRef: string }> {
    const { store, configRef } = await configs.put(input.config);
    return {
      ref: { runId: input.runId, store: input.config.store, configRef },
      messagesRef: await session.startConversation(store, input),
    };
  },

  async agentTurn(input: {
    ref: AgentRef;
    nodeId: number;
    step: number;
    messagesRef: string;
    results: session.ToolResultRef[];
  }): Promise<session.TurnResult> {
    const { store, config } = await configs.open(input.ref);
    return withHeartbeat((signal) => session.agentTurn(store, { ...input, runId: input.ref.runId, config }, signal));
  },

  async agentTool(input: { ref: AgentRef; snapshot: string; messagesRef: string; callId: string }) {
    const { store, config } = await configs.open(input.ref);
    return withHeartbeat(() => session.agentTool(store, { ...input, config }));
  },

  async agentFlags(input: { ref: AgentRef; parent: string; snapshot: string }) {
    const { store, config } = await configs.open(input.ref);
    return session.agentFlags(store, { ...input, config });
  },
});
