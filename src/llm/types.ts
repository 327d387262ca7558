import type { TokenUsage } from '../../core/usage';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  system: string;
  messages: ChatMessage[];
}

export interface ChatReply {
  text: string;
  usage: TokenUsage;
  /** True when this reply came from the store's cache instead of a paid call. */
  cached: boolean;
}

/** A tool the model may call, described by a JSON schema of its arguments (both providers accept this shape). */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ToolCall {
  /** The provider's id for the call; the tool's result names it. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** A message of a tool-using conversation, provider-neutral (providers.ts maps it to each protocol). */
export type AgentMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; name: string; content: string };

export interface ToolChatRequest {
  system: string;
  messages: AgentMessage[];
  tools: ToolSpec[];
}

export interface ToolChatReply extends ChatReply {
  tool_calls: ToolCall[];
}
