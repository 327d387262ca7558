import type { ModelConfig } from '../config/schema';
import type { ArtifactStore } from '../store/artifact-store';
import { canonicalJson, sha256 } from '../store/hash';
import { addUsage } from '../../core/usage';
import { callModel, callModelWithTools, costUsd } from './providers';
import { fitToModel } from './context-fit';
import { sentUnanswered } from './llm-errors';
import { estimatedUsd, readMarker, unconfirmedUsage, writeMarker } from './unconfirmed';
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
  const { provider, model: name, base_url, temperature, max_tokens, reasoning_effort, thinking_budget } = model;
  return sha256(
    canonicalJson({
      provider,
      model: name,
      base_url: provider === 'scripted' ? undefined : base_url,
      temperature,
      max_tokens,
      // Absent (undefined) settings leave the key as it was before they existed.
      reasoning_effort,
      thinking_budget,
      req,
      site,
    }),
  );
}

/** A model call paid for once: the reply is cached in the store under the hash of the full request. */
export function cachedChat(
  store: ArtifactStore,
  model: ModelConfig,
  req: ChatRequest,
  site: CallSite,
  signal?: AbortSignal,
): Promise<ChatReply & { key: string }> {
  return paidOnce<Omit<ChatReply, 'cached'>, ChatRequest>(store, model, req, site, async (sent) => {
    const raw = await callModel(model, sent, signal);
    return { text: raw.text, usage: { ...raw.usage, cost_usd: costUsd(model, raw.usage), calls: 1 } };
  });
}

/** A tool-using turn paid for once, cached like `cachedChat` (the tools are part of the request hash). */
export function cachedToolChat(
  store: ArtifactStore,
  model: ModelConfig,
  req: ToolChatRequest,
  site: CallSite,
  signal?: AbortSignal,
): Promise<ToolChatReply & { key: string }> {
  return paidOnce<Omit<ToolChatReply, 'cached'>, ToolChatRequest>(store, model, req, site, async (sent) => {
    const raw = await callModelWithTools(model, sent, signal);
    return {
      text: raw.text,
      tool_calls: raw.tool_calls,
      usage: { ...raw.usage, cost_usd: costUsd(model, raw.usage), calls: 1 },
    };
  });
}

/**
 * The reply stored for this request, else `call`'s (stored, with the request beside it, before it is
 * returned). The request sent is the caller's cut to the model's context window (context-fit.ts); the
 * cache key stays the caller's request. A "sent" marker brackets the call, so a send whose answer was
 * never read is counted as unconfirmed by the attempt that gets the answer (unconfirmed.ts).
 */
async function paidOnce<R extends { usage: ChatReply['usage'] }, Q extends ChatRequest | ToolChatRequest>(
  store: ArtifactStore,
  model: ModelConfig,
  req: Q,
  site: CallSite,
  call: (sent: Q) => Promise<R>,
): Promise<R & { cached: boolean; key: string }> {
  const key = requestKey(model, req, site);
  const hit = await store.getRef(`llm/${key}`);
  if (hit && (await store.hasBlob(hit))) return { ...(await store.getJson<R>(hit)), cached: true, key };
  const fit = fitToModel(model, req);
  const earlier = await readMarker(store, key);
  const estimate = estimatedUsd(model, fit.tokens);
  await writeMarker(store, key, { unanswered: earlier.unanswered + 1, estimated_usd: estimate });
  let reply: R;
  try {
    reply = await call(fit.req);
  } catch (err) {
    // Answered with an error (or never sent): not billed, so this send is not counted.
    if (!sentUnanswered(err)) await writeMarker(store, key, earlier);
    throw err;
  }
  reply = { ...reply, usage: addUsage(reply.usage, unconfirmedUsage(earlier)) };
  // The request as sent is stored beside the reply, so a node's prompt can be inspected later.
  const requestRef = await store.putJson({
    model: model.id,
    req: fit.req,
    site,
    ...(fit.cut ? { context_cut: fit.cut } : {}),
  });
  await store.setRef(`llm/${key}`, await store.putJson({ ...reply, requestRef }));
  return { ...reply, cached: false, key };
}
