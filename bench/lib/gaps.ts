import type { Span } from './cluster';

/**
 * Orchestration overhead of each step of a sequential run: the time from one execution's end to the
 * next one's start, minus the scripted model's latency paid in between (calls that arrived in the gap
 * × latency; the calls of one run are sequential, so they do not overlap).
 */
export function gapOverheads(
  spans: Span[],
  arrivals: { at: number }[],
  latencyMs: number,
): { overheadsMs: number[]; llmCallsPerGap: number[] } {
  const overheadsMs: number[] = [];
  const llmCallsPerGap: number[] = [];
  for (let i = 0; i + 1 < spans.length; i++) {
    const end = spans[i].end;
    const next = spans[i + 1].start;
    if (end === undefined) continue;
    const calls = arrivals.filter((a) => a.at >= end && a.at <= next).length;
    overheadsMs.push(next - end - calls * latencyMs);
    llmCallsPerGap.push(calls);
  }
  return { overheadsMs, llmCallsPerGap };
}
