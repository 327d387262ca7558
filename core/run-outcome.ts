// Why a run has no valid version, said so an operator knows what to change. Pure: the CLI and the
// report read it from a run's nodes.
import type { NodeRecord } from './types';

/** `val_loss=3.91 breaks the bound val_loss <= 3.28`, as src/metrics/analyze.ts words a broken bound. */
const BOUND_REASON = /^(\S+)=(\S+) breaks the bound (\S+) (<=|>=) (\S+)$/;

export interface BoundMiss {
  metric: string;
  op: '<=' | '>=';
  bound: number;
  /** The versions that broke this bound. */
  versions: number;
  /** The value nearest the bound among them, and the version that had it (none when no version printed it). */
  best?: { id: number; value: number };
}

export interface NoValidVersion {
  /** Finished versions (v_0 included), all invalid. */
  versions: number;
  /** The reason most versions share, numbers of a broken bound left out so that they group. */
  commonReason: string;
  /** How many versions share it. */
  commonCount: number;
  /** Bounds that every version broke (so a hint can name the bound to loosen). */
  bounds: BoundMiss[];
}

const finished = (nodes: readonly NodeRecord[]) => nodes.filter((n) => n.status !== 'pending');

/** The reason as it groups with others: a broken bound without the value that broke it. */
export function reasonKey(reason: string | undefined): string {
  if (!reason) return 'no reason recorded';
  const first = reason.split('\n')[0];
  const m = BOUND_REASON.exec(first);
  return m ? `breaks the bound ${m[3]} ${m[4]} ${m[5]}` : first;
}

/** Undefined while some finished version is valid (or none has finished yet). */
export function noValidVersion(nodes: readonly NodeRecord[]): NoValidVersion | undefined {
  const done = finished(nodes);
  if (done.length === 0 || done.some((n) => n.valid)) return undefined;
  const counts = new Map<string, number>();
  for (const n of done) counts.set(reasonKey(n.reason), (counts.get(reasonKey(n.reason)) ?? 0) + 1);
  const [commonReason, commonCount] = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a));
  return { versions: done.length, commonReason, commonCount, bounds: boundMisses(done) };
}

/** Bounds broken by versions that ran to a metric, with the value nearest each bound. */
function boundMisses(done: readonly NodeRecord[]): BoundMiss[] {
  const misses = new Map<string, BoundMiss>();
  for (const n of done) {
    const m = BOUND_REASON.exec((n.reason ?? '').split('\n')[0]);
    if (!m) continue;
    const [, , printed, metric, op, boundText] = m;
    const bound = Number(boundText);
    const key = `${metric} ${op} ${bound}`;
    const miss = misses.get(key) ?? { metric, op: op as BoundMiss['op'], bound, versions: 0 };
    miss.versions++;
    const value = n.metrics[metric] ?? Number(printed);
    if (Number.isFinite(value) && (!miss.best || (op === '<=' ? value < miss.best.value : value > miss.best.value)))
      miss.best = { id: n.id, value };
    misses.set(key, miss);
  }
  return [...misses.values()];
}

/**
 * A reason short enough for one line, cut at a word and never inside a quotation: a quote that would
 * be cut is kept whole when it ends soon after the limit, else the cut goes before it.
 */
export function shortReason(reason: string, max = 100): string {
  const line = reason.split('\n')[0];
  if (line.length <= max) return line;
  let cut: number;
  const open = openQuoteAt(line, max);
  if (open !== undefined) {
    const close = line.indexOf(line[open], open + 1);
    if (close < max * 1.5) cut = close + 1;
    else cut = line.lastIndexOf(' ', open) > 0 ? line.lastIndexOf(' ', open) : open;
  } else {
    cut = line.lastIndexOf(' ', max);
    if (cut < max / 2) cut = max;
  }
  if (line.length - cut <= 3) return line; // only a closing bracket or stop would be left out
  return `${line.slice(0, cut).trimEnd()} …`;
}

/** Where the quotation open at `pos` starts (', " or `), undefined when none is open there. */
function openQuoteAt(line: string, pos: number): number | undefined {
  let open: number | undefined;
  for (let i = 0; i < pos; i++) {
    const c = line[i];
    if (open !== undefined) {
      if (c === line[open]) open = undefined;
    } else if (
      (c === '"' || c === '`' || (c === "'" && !/\w/.test(line[i - 1] ?? ''))) &&
      line.indexOf(c, i + 1) !== -1
    ) {
      open = i; // an apostrophe inside a word (it's, don't) opens nothing
    }
  }
  return open;
}
