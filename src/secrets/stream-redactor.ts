import { REDACTED } from './redact';

const REDACTED_BYTES = Buffer.from(REDACTED);

/**
 * Replaces secret values in a byte stream as it passes, also when a value is split across chunks:
 * the bytes at the end of a chunk that could begin a secret are held back until the next chunk (or
 * `end`) decides. Only such a possible beginning is held, so ordinary output passes at once and
 * line arrival times stay true. Work per chunk is linear in its size (times the number of secrets).
 */
export class StreamRedactor {
  private readonly secrets: Buffer[];
  private held: Buffer = Buffer.alloc(0);

  constructor(secrets: string[]) {
    // Longest first: where two secrets start at the same byte, the longer is cut whole.
    this.secrets = [...new Set(secrets)]
      .filter(Boolean)
      .map((s) => Buffer.from(s))
      .sort((a, b) => b.length - a.length);
  }

  /** The redacted bytes that can be passed on now. */
  push(chunk: Buffer): Buffer {
    if (this.secrets.length === 0) return chunk;
    const data = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const matches = this.findMatches(data);
    const lastEnd = matches.length ? matches[matches.length - 1][1] : 0;
    const holdFrom = Math.max(this.possibleStart(data), lastEnd);
    this.held = Buffer.from(data.subarray(holdFrom));
    return replace(data, matches, holdFrom);
  }

  /** What was held back: the stream ended, so it cannot be the start of a secret any more. */
  end(): Buffer {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    return rest;
  }

  /** Non-overlapping [start, end) of every secret in `data`, in order. */
  private findMatches(data: Buffer): Array<[number, number]> {
    const found: Array<[number, number]> = [];
    for (const s of this.secrets) {
      for (let i = data.indexOf(s); i !== -1; i = data.indexOf(s, i + s.length)) found.push([i, i + s.length]);
    }
    found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const merged: Array<[number, number]> = [];
    for (const m of found) {
      const prev = merged[merged.length - 1];
      if (prev && m[0] < prev[1]) prev[1] = Math.max(prev[1], m[1]);
      else merged.push([m[0], m[1]]);
    }
    return merged;
  }

  /** Where the earliest unfinished secret could begin in `data`'s last bytes (data.length if none). */
  private possibleStart(data: Buffer): number {
    let start = data.length;
    for (const s of this.secrets) {
      const from = Math.max(0, data.length - s.length + 1);
      for (let i = data.indexOf(s[0], from); i !== -1 && i < start; i = data.indexOf(s[0], i + 1)) {
        if (data.subarray(i).equals(s.subarray(0, data.length - i))) {
          start = i;
          break;
        }
      }
    }
    return start;
  }
}

function replace(data: Buffer, matches: Array<[number, number]>, until: number): Buffer {
  if (matches.length === 0) return data.subarray(0, until);
  const parts: Buffer[] = [];
  let at = 0;
  for (const [start, end] of matches) {
    parts.push(data.subarray(at, start), REDACTED_BYTES);
    at = end;
  }
  parts.push(data.subarray(at, until));
  return Buffer.concat(parts);
}
