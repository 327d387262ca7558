import type { ModelConfig } from '../config/schema';
import type { ArtifactStore } from '../store/artifact-store';
import { canonicalJson, sha256 } from '../store/hash';
import { callModel, callModelWithTools, costUsd } from './providers';
import type { ChatReply, ChatRequest, ToolChatReply, ToolChatRequest } from './types';

/**
 * Identifies one logical LLM call of a run (run, node, role, attempt). It is part of the cache key so
 * two nodes asking the same question still get two samples, while a retried, reset or replayed
 * activity asking again for the same call reads the reply it already paid for.
 */
export interface CallSite {
  runId: string;
  nodeId: number;
  role: string;
  attempt: number;
}

export function requestKey(model: ModelConfig, req: ChatRequest | ToolChatRequest, site: CallSite): string {
  const { provider, model: name, base_url, temperature, max_tokens } = model;
  return sha256(
    canonicalJson({
      provider,
      model: name,
      base_url: provider === 'scripted' ? undefined : base_url,
      temperature,
      max_tokens,
      req,
      site,
    }),
  );
}

/** A model call paid for once: the reply is cached in the store under the hash of the full request. */
export function cachedChat(store: ArtifactStore, model: ModelConfig, req: ChatRequest, site: CallSite, signal?: AbortSignal): Promise<ChatReply & { key: string }> {
  return paidOnce<Omit<ChatReply, 'cached'>>(store, model, req, site, async () => {
    const raw = await callModel(model, req, signal);
    return { text: raw.text, usage: { ...raw.usage, cost_usd: costUsd(model, raw.usage), calls: 1 } };
  });
}

/** A tool-using turn paid for once, cached like `cachedChat` (the tools are part of the request hash). */
export function cachedToolChat(store: ArtifactStore, model: ModelConfig, req: ToolChatRequest, site: CallSite, signal?: AbortSignal): Promise<ToolChatReply & { key: string }> {
  return paidOnce<Omit<ToolChatReply, 'cached'>>(store, model, req, site, async () => {
    const raw = await callModelWithTools(model, req, signal);
    return { text: raw.text, tool_calls: raw.tool_calls, usage: { ...raw.usage, cost_usd: costUsd(model, raw.usage), calls: 1 } };
  });
}

/** The reply stored for this request, else `call`'s (stored, with the request beside it, before it is returned). */
async function paidOnce<R extends object>(
  store: ArtifactStore,
  model: ModelConfig,
  req: ChatRequest | ToolChatRequest,
  site: CallSite,
  call: () => Promise<R>,
): Promise<R & { cached: boolean; key: string }> {
  const key = requestKey(model, req, site);
  const hit = await store.getRef(`llm/${key}`);
  if (hit && (await store.hasBlob(hit))) return { ...(await store.getJson<R>(hit)), cached: true, key };
  const reply = await call();
  // The request itself is stored beside the reply, so a node's prompt can be inspected later.
  const requestRef = await store.putJson({ model: model.id, req, site });
  await store.setRef(`llm/${key}`, await store.putJson({ ...reply, requestRef }));
  return { ...reply, cached: false, key };
}
