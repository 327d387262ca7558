// Tokens and dollars spent on LLM calls, summed per call, node and run. Pure: workflow code imports it.

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  /** Dollars, answered calls and unconfirmed ones together (what `budget.usd` is checked against). */
  cost_usd: number;
  calls: number;
  /**
   * Calls that were sent but never answered (the worker died, the request timed out): a provider may
   * have billed them. Counted at their estimated price (src/llm/unconfirmed.ts), included in cost_usd.
   * Absent means zero, so usage recorded before these fields existed still sums.
   */
  unconfirmed_calls?: number;
  unconfirmed_usd?: number;
}

export const noUsage = (): TokenUsage => ({
  input_tokens: 0,
  output_tokens: 0,
  cached_input_tokens: 0,
  cost_usd: 0,
  calls: 0,
});

const usd = (x: number) => Math.round(x * 1e6) / 1e6;

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  const unconfirmedCalls = (a.unconfirmed_calls ?? 0) + (b.unconfirmed_calls ?? 0);
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cached_input_tokens: a.cached_input_tokens + b.cached_input_tokens,
    cost_usd: usd(a.cost_usd + b.cost_usd),
    calls: a.calls + b.calls,
    // Only present when there is something to say, so usage without unconfirmed calls keeps its old shape.
    ...(unconfirmedCalls
      ? {
          unconfirmed_calls: unconfirmedCalls,
          unconfirmed_usd: usd((a.unconfirmed_usd ?? 0) + (b.unconfirmed_usd ?? 0)),
        }
      : {}),
  };
}

/** One line for people: calls, tokens, dollars, and the unconfirmed part when there is one. */
export function describeUsage(u: TokenUsage): string {
  const unconfirmed = u.unconfirmed_calls
    ? ` (incl. ${u.unconfirmed_calls} unconfirmed, est. $${(u.unconfirmed_usd ?? 0).toFixed(4)})`
    : '';
  return `${u.calls} calls, ${u.input_tokens} in / ${u.output_tokens} out tokens, $${u.cost_usd.toFixed(4)}${unconfirmed}`;
}
