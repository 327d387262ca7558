import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { join } from 'node:path';
import type { ModelConfig } from '../config/schema';
import { ROOT } from '../paths';
import { loadScript, startScriptedServer, type ScriptedServer } from './scripted-server';
import type { AgentMessage, ChatRequest, ToolCall, ToolChatRequest } from './types';
import type { TokenUsage } from '../../core/usage';
import { classifyLlmError, NonRetryableLlmError } from './llm-errors';

export { NonRetryableLlmError };

export interface RawReply {
  text: string;
  usage: Omit<TokenUsage, 'cost_usd' | 'calls'>;
}

// One scripted server per script file per process, started on first use.
const scriptedServers = new Map<string, Promise<ScriptedServer>>();

function scriptedUrl(model: ModelConfig): Promise<string> | string {
  if (model.base_url) return model.base_url;
  const file = join(ROOT, model.script ?? 'data/scripts/default.yaml');
  if (!scriptedServers.has(file)) scriptedServers.set(file, startScriptedServer(loadScript(file)));
  return scriptedServers.get(file)!.then((s) => s.url);
}

function apiKey(model: ModelConfig): string {
  const name = model.api_key_env;
  const key = name ? process.env[name] : undefined;
  if (key) return key;
  if (model.provider === 'scripted' || model.base_url) return 'not-needed';
  throw new NonRetryableLlmError(
    `model '${model.id}' needs the environment variable ${name ?? '(api_key_env unset)'} on the control worker`,
  );
}

/** Where a model is reached and with which key, for tools that call it themselves (the aider CLI). */
export async function modelEndpoint(model: ModelConfig): Promise<{ baseUrl?: string; key: string }> {
  const baseUrl = model.provider === 'scripted' ? await scriptedUrl(model) : model.base_url;
  return { baseUrl, key: apiKey(model) };
}

/**
 * One HTTP request to the model through its official SDK. The SDK never retries (maxRetries: 0):
 * Temporal retries the activity, honouring Retry-After (llm-errors.ts), so a failing call is sent once
 * per Temporal attempt, not once per SDK retry of each attempt.
 */
export async function callModel(model: ModelConfig, req: ChatRequest, signal?: AbortSignal): Promise<RawReply> {
  const { text, usage } = await callModelWithTools(model, { ...req, tools: [] }, signal);
  return { text, usage };
}

const sampling = (model: ModelConfig) => (model.temperature !== undefined ? { temperature: model.temperature } : {});

/** The SDK clients' shared options: no SDK retries, and the model's request timeout when it sets one. */
const clientOptions = (model: ModelConfig) => ({
  maxRetries: 0,
  ...(model.request_timeout_s ? { timeout: model.request_timeout_s * 1000 } : {}),
});

/** Anthropic: manual extended thinking (thinking_budget) and effort (output_config) when the model config sets them. */
function anthropicReasoning(model: ModelConfig) {
  const effort = model.reasoning_effort;
  if (effort === 'none' || effort === 'minimal')
    throw new NonRetryableLlmError(
      `model '${model.id}': Anthropic has no reasoning_effort '${effort}' (use low, medium, high, xhigh or max)`,
    );
  return {
    ...(model.thinking_budget ? { thinking: { type: 'enabled' as const, budget_tokens: model.thinking_budget } } : {}),
    ...(effort ? { output_config: { effort } } : {}),
  };
}

/** One call with native tool calling (OpenAI function tools, Anthropic tool_use); no tools means a plain chat. */
export async function callModelWithTools(
  model: ModelConfig,
  req: ToolChatRequest,
  signal?: AbortSignal,
): Promise<RawReply & { tool_calls: ToolCall[] }> {
  try {
    if (model.provider === 'anthropic') {
      const client = new Anthropic({ apiKey: apiKey(model), baseURL: model.base_url, ...clientOptions(model) });
      const res = await client.messages.create(
        {
          model: model.model,
          system: req.system,
          messages: toAnthropic(req.messages),
          max_tokens: model.max_tokens,
          ...(req.tools.length
            ? {
                tools: req.tools.map((t) => ({
                  name: t.name,
                  description: t.description,
                  input_schema: t.parameters as Anthropic.Tool.InputSchema,
                })),
              }
            : {}),
          ...sampling(model),
          ...anthropicReasoning(model),
        },
        { signal },
      );
      return {
        text: res.content.map((c) => (c.type === 'text' ? c.text : '')).join(''),
        tool_calls: res.content.flatMap((c) =>
          c.type === 'tool_use'
            ? [{ id: c.id, name: c.name, arguments: (c.input ?? {}) as Record<string, unknown> }]
            : [],
        ),
        usage: {
          input_tokens: res.usage.input_tokens,
          output_tokens: res.usage.output_tokens,
          cached_input_tokens: res.usage.cache_read_input_tokens ?? 0,
        },
      };
    }
    const baseURL = model.provider === 'scripted' ? await scriptedUrl(model) : model.base_url;
    const client = new OpenAI({ apiKey: apiKey(model), baseURL, ...clientOptions(model) });
    const res = await client.chat.completions.create(
      {
        model: model.model,
        messages: [{ role: 'system', content: req.system }, ...toOpenAi(req.messages)],
        max_completion_tokens: model.max_tokens,
        ...(req.tools.length ? { tools: req.tools.map((t) => ({ type: 'function' as const, function: t })) } : {}),
        ...sampling(model),
        ...(model.reasoning_effort ? { reasoning_effort: model.reasoning_effort } : {}),
      },
      { signal },
    );
    const message = res.choices[0]?.message;
    return {
      text: message?.content ?? '',
      tool_calls: (message?.tool_calls ?? []).flatMap((c) =>
        c.type === 'function'
          ? [{ id: c.id, name: c.function.name, arguments: parseArguments(c.function.arguments) }]
          : [],
      ),
      usage: {
        input_tokens: res.usage?.prompt_tokens ?? 0,
        output_tokens: res.usage?.completion_tokens ?? 0,
        cached_input_tokens: res.usage?.prompt_tokens_details?.cached_tokens ?? 0,
      },
    };
  } catch (err) {
    throw classifyLlmError(err, `${model.provider} ${model.model}`);
  }
}

/** OpenAI sends arguments as a JSON string; a malformed one reaches the tool as `_unparsed`, so the model is told. */
function parseArguments(json: string): Record<string, unknown> {
  try {
    const v = JSON.parse(json || '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? v : { _unparsed: json };
  } catch {
    return { _unparsed: json };
  }
}

function toOpenAi(messages: AgentMessage[]): OpenAI.ChatCompletionMessageParam[] {
  return messages.map((m): OpenAI.ChatCompletionMessageParam => {
    if (m.role === 'tool') return { role: 'tool', tool_call_id: m.tool_call_id, content: m.content };
    if (m.role === 'assistant' && m.tool_calls?.length) {
      return {
        role: 'assistant',
        content: m.content || null,
        tool_calls: m.tool_calls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: JSON.stringify(c.arguments) },
        })),
      };
    }
    return { role: m.role, content: m.content };
  });
}

/** Anthropic carries tool calls as content blocks, and tool results as blocks of the next user turn. */
function toAnthropic(messages: AgentMessage[]): Anthropic.MessageParam[] {
  const out: Anthropic.MessageParam[] = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      const block: Anthropic.ToolResultBlockParam = {
        type: 'tool_result',
        tool_use_id: m.tool_call_id,
        content: m.content,
      };
      const last = out[out.length - 1];
      if (last?.role === 'user' && Array.isArray(last.content) && last.content.every((b) => b.type === 'tool_result'))
        last.content.push(block);
      else out.push({ role: 'user', content: [block] });
    } else if (m.role === 'assistant' && m.tool_calls?.length) {
      out.push({
        role: 'assistant',
        content: [
          ...(m.content ? [{ type: 'text' as const, text: m.content }] : []),
          ...m.tool_calls.map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: c.arguments })),
        ],
      });
    } else out.push({ role: m.role, content: m.content });
  }
  return out;
}

export function costUsd(model: ModelConfig, u: RawReply['usage']): number {
  const p = model.prices;
  const cached = Math.min(u.cached_input_tokens, u.input_tokens);
  const usd =
    ((u.input_tokens - cached) * p.input + cached * (p.cached_input ?? p.input) + u.output_tokens * p.output) / 1e6;
  return Math.round(usd * 1e6) / 1e6;
}
