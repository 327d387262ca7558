// Calls that were sent but never answered. A provider may bill a request whose reply we never read
// (the worker died, the request timed out), so before a call is sent a "sent" marker is written in
// the store under the call's request key; once the reply is stored under the same key the marker is
// never read again (the cache answers first). A later attempt of the same call that finds the marker
// and no reply counts each earlier unanswered send as `unconfirmed`, at its estimated price, in the
// usage of the reply it finally gets (and so against budget.usd).
//
// The estimate: input tokens counted from the request as sent (src/llm/context-fit.ts), output as the
// request's full max_tokens, the most the provider could bill; both at the model's uncached prices.
import type { ModelConfig } from '../config/schema';
import type { ArtifactStore } from '../store/artifact-store';
import type { TokenUsage } from '../../core/usage';

/** What the marker of a call holds: sends without an answer so far, and the price of one. */
export interface SentMarker {
  unanswered: number;
  estimated_usd: number;
}

const markerRef = (key: string) => `llm-sent/${key}`;

/** Dollars one unanswered send of a request of `inputTokens` may have cost (output: all of max_tokens). */
export function estimatedUsd(model: Pick<ModelConfig, 'prices' | 'max_tokens'>, inputTokens: number): number {
  return Math.round(((inputTokens * model.prices.input + model.max_tokens * model.prices.output) / 1e6) * 1e6) / 1e6;
}

export async function readMarker(store: ArtifactStore, key: string): Promise<SentMarker> {
  const ref = await store.getRef(markerRef(key));
  return ref && (await store.hasBlob(ref)) ? store.getJson<SentMarker>(ref) : { unanswered: 0, estimated_usd: 0 };
}

export async function writeMarker(store: ArtifactStore, key: string, marker: SentMarker): Promise<void> {
  await store.setRef(markerRef(key), await store.putJson(marker));
}

/** Usage of `earlier` unanswered sends, to add to the answered call's usage. */
export function unconfirmedUsage(earlier: SentMarker): TokenUsage {
  const usd = Math.round(earlier.unanswered * earlier.estimated_usd * 1e6) / 1e6;
  return {
    input_tokens: 0,
    output_tokens: 0,
    cached_input_tokens: 0,
    cost_usd: usd,
    calls: 0,
    ...(earlier.unanswered ? { unconfirmed_calls: earlier.unanswered, unconfirmed_usd: usd } : {}),
  };
}
