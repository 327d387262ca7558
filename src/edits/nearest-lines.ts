/**
 * The lines of a file that most resemble a SEARCH part that did not match, to show the model what
 * the file really says there (aider's find_similar_lines does the same with difflib). Each window
 * of the SEARCH's length is scored by the mean similarity of its lines to the SEARCH's lines
 * (Dice coefficient of character bigrams, whitespace ignored); the best window, with a little
 * context, is returned when it is similar enough to be worth showing.
 */
export interface NearestLines {
  /** 1-based, inclusive, context included. */
  from: number;
  to: number;
  text: string;
  score: number;
}

const MIN_SCORE = 0.5;
const CONTEXT = 2;

export function nearestLines(content: string[], search: string[]): NearestLines | undefined {
  const want = search.filter((l) => l.trim() !== '').map(bigrams);
  if (want.length === 0) return undefined;
  const file = content.map((l) => (l.trim() === '' ? undefined : bigrams(l)));
  const code = file.flatMap((b, idx) => (b ? [{ idx, b }] : []));
  let best = { score: -1, start: 0, end: 0 };
  for (let p = 0; p + want.length <= code.length; p++) {
    let sum = 0;
    for (let k = 0; k < want.length; k++) sum += dice(want[k], code[p + k].b);
    const score = sum / want.length;
    if (score > best.score) best = { score, start: code[p].idx, end: code[p + want.length - 1].idx };
  }
  if (best.score < MIN_SCORE) return undefined;
  let from = Math.max(0, best.start - CONTEXT);
  let to = Math.min(content.length - 1, best.end + CONTEXT);
  while (from < best.start && content[from].trim() === '') from++;
  while (to > best.end && content[to].trim() === '') to--;
  return { from: from + 1, to: to + 1, text: content.slice(from, to + 1).join('\n'), score: best.score };
}

function bigrams(line: string): Set<string> {
  const s = line.replace(/\s+/g, ' ').trim();
  const out = new Set<string>();
  for (let i = 0; i + 1 < s.length; i++) out.add(s.slice(i, i + 2));
  if (s.length === 1) out.add(s);
  return out;
}

function dice(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let common = 0;
  for (const g of a) if (b.has(g)) common++;
  return (2 * common) / (a.size + b.size);
}
