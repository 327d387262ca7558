import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { join } from 'node:path';
import type { ModelConfig } from '../config/schema';
import { ROOT } from '../paths';
import { loadScript, startScriptedServer, type ScriptedServer } from './scripted-server';
import type { ChatRequest, TokenUsage } from './types';

/** A provider error that retrying cannot fix (bad key, bad request, unknown model). */
export class NonRetryableLlmError extends Error {}

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
  throw new NonRetryableLlmError(`model '${model.id}' needs the environment variable ${name ?? '(api_key_env unset)'} on the control worker`);
}

/** One call to the model through its official SDK. SDK-level retries cover 429 and 5xx with backoff. */
export async function callModel(model: ModelConfig, req: ChatRequest, signal?: AbortSignal): Promise<RawReply> {
  try {
    if (model.provider === 'anthropic') {
      const client = new Anthropic({ apiKey: apiKey(model), baseURL: model.base_url, maxRetries: 4 });
      const res = await client.messages.create(
        {
          model: model.model,
          system: req.system,
          messages: req.messages,
          max_tokens: model.max_tokens,
          ...(model.temperature !== undefined ? { temperature: model.temperature } : {}),
        },
        { signal },
      );
      const text = res.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
      return {
        text,
        usage: {
          input_tokens: res.usage.input_tokens,
          output_tokens: res.usage.output_tokens,
          cached_input_tokens: res.usage.cache_read_input_tokens ?? 0,
        },
      };
    }
    const baseURL = model.provider === 'scripted' ? await scriptedUrl(model) : model.base_url;
    const client = new OpenAI({ apiKey: apiKey(model), baseURL, maxRetries: 4 });
    const res = await client.chat.completions.create(
      {
        model: model.model,
        messages: [{ role: 'system', content: req.system }, ...req.messages],
        max_completion_tokens: model.max_tokens,
        ...(model.temperature !== undefined ? { temperature: model.temperature } : {}),
      },
      { signal },
    );
    return {
      text: res.choices[0]?.message?.content ?? '',
      usage: {
        input_tokens: res.usage?.prompt_tokens ?? 0,
        output_tokens: res.usage?.completion_tokens ?? 0,
        cached_input_tokens: res.usage?.prompt_tokens_details?.cached_tokens ?? 0,
      },
    };
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status && [400, 401, 403, 404, 422].includes(status)) {
      throw new NonRetryableLlmError(`${model.provider} ${model.model}: HTTP ${status}: ${(err as Error).message}`);
    }
    throw err;
  }
}

export function costUsd(model: ModelConfig, u: RawReply['usage']): number {
  const p = model.prices;
  const cached = Math.min(u.cached_input_tokens, u.input_tokens);
  const usd = ((u.input_tokens - cached) * p.input + cached * (p.cached_input ?? p.input) + u.output_tokens * p.output) / 1e6;
  return Math.round(usd * 1e6) / 1e6;
}
