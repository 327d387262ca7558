/**
 * Where a SEARCH part is in a file, tried from strict to lenient; each lenient rung must find exactly
 * one place (an ambiguous match is a failure, never a guess):
 * 1. the exact lines, first occurrence (aider's perfect_replace);
 * 2. ignoring trailing whitespace, tabs vs spaces, and a uniform indentation shift of the whole
 *    SEARCH (aider's replace_part_with_missing_leading_whitespace, in both directions); the
 *    REPLACE is re-indented the same way;
 * 3. as 2, also skipping blank lines on both sides (a SEARCH missing, or adding, a blank line;
 *    aider only retries without a leading blank line);
 * 4. `...` lines in SEARCH and REPLACE split both into pieces applied one by one, each found once
 *    (aider's try_dotdotdots, whose semantics this keeps: a trailing piece with an empty SEARCH is
 *    appended to the end of the file).
 * Pure: lines in, lines out.
 */
export type Located =
  | { ok: true; lines: string[]; how: 'exact' | 'whitespace' | 'blank-lines' | 'elision' }
  | { ok: false; why: 'none' }
  | { ok: false; why: 'ambiguous'; at: number[] }
  | { ok: false; why: 'elision'; detail: string };

/** Columns a tab counts for when tabs meet spaces (Python's usual indent width). */
const TAB = 4;

/** A line's indentation in columns and its text without surrounding whitespace. */
interface Norm {
  col: number;
  text: string;
}

const normLine = (line: string): Norm => {
  const lead = /^[ \t]*/.exec(line)![0];
  let col = 0;
  for (const ch of lead) col += ch === '\t' ? TAB : 1;
  return { col, text: line.slice(lead.length).trimEnd() };
};

/** The lines of a SEARCH or REPLACE part; a final newline ends the last line, it adds none. */
export const partLines = (part: string): string[] => (part === '' ? [] : part.replace(/\n$/, '').split('\n'));

export function locate(
  content: string[],
  search: string[],
  replace: string[],
  opts: { uniqueExact?: boolean } = {},
): Located {
  const exact = exactMatches(content, search);
  if (exact.length === 1 || (exact.length > 1 && !opts.uniqueExact))
    return { ok: true, how: 'exact', lines: splice(content, exact[0], exact[0] + search.length, replace) };
  if (exact.length > 1) return { ok: false, why: 'ambiguous', at: exact.map((i) => i + 1) };
  const trimmed = trimBlankEnds(search);
  if (trimmed.length === 0) return { ok: false, why: 'none' };
  for (const skipBlank of [false, true]) {
    const found = tolerantMatches(content, trimmed, skipBlank);
    if (found.length > 1) return { ok: false, why: 'ambiguous', at: found.map((m) => m.start + 1) };
    if (found.length === 1) {
      const m = found[0];
      return {
        ok: true,
        how: skipBlank ? 'blank-lines' : 'whitespace',
        lines: splice(content, m.start, m.end, reindent(trimBlankEnds(replace), m.shift, m.tabs)),
      };
    }
  }
  return elided(content, search, replace);
}

function exactMatches(content: string[], search: string[]): number[] {
  const out: number[] = [];
  if (search.length === 0) return out;
  for (let i = 0; i + search.length <= content.length; i++) {
    if (search.every((line, k) => content[i + k] === line)) out.push(i);
  }
  return out;
}

interface Tolerant {
  start: number;
  end: number;
  shift: number;
  tabs: boolean;
}

function tolerantMatches(content: string[], search: string[], skipBlank: boolean): Tolerant[] {
  const view = (lines: string[]) =>
    lines.map((line, idx) => ({ idx, ...normLine(line) })).filter((l) => !skipBlank || l.text !== '');
  const file = view(content);
  const want = view(search);
  const out: Tolerant[] = [];
  for (let p = 0; p + want.length <= file.length; p++) {
    let shift: number | undefined;
    const same = want.every((w, k) => {
      const f = file[p + k];
      if (w.text === '' || f.text === '') return w.text === f.text;
      if (w.text !== f.text) return false;
      shift ??= f.col - w.col;
      return f.col - w.col === shift;
    });
    if (!same) continue;
    const start = file[p].idx;
    const end = file[p + want.length - 1].idx + 1;
    const firstCode = content.slice(start, end).find((l) => l.trim() !== '') ?? '';
    out.push({ start, end, shift: shift ?? 0, tabs: firstCode.startsWith('\t') });
  }
  return out;
}

/** REPLACE lines moved by the match's indentation shift, indented with the file's tabs or spaces. */
function reindent(lines: string[], shift: number, tabs: boolean): string[] {
  return lines.map((line) => {
    const { col, text } = normLine(line);
    if (text === '') return '';
    const to = Math.max(0, col + shift);
    return (tabs ? '\t'.repeat(Math.floor(to / TAB)) + ' '.repeat(to % TAB) : ' '.repeat(to)) + text;
  });
}

function elided(content: string[], search: string[], replace: string[]): Located {
  const isDots = (l: string) => l.trim() === '...';
  if (!search.some(isDots)) return { ok: false, why: 'none' };
  const pieces = (lines: string[]) => {
    const out: string[][] = [[]];
    for (const l of lines)
      if (isDots(l)) out.push([]);
      else out[out.length - 1].push(l);
    return out;
  };
  const from = pieces(search);
  const to = pieces(replace);
  if (from.length !== to.length) {
    return {
      ok: false,
      why: 'elision',
      detail: `SEARCH has ${from.length - 1} "..." line(s) and REPLACE ${to.length - 1}; they must pair up`,
    };
  }
  let lines = content;
  for (let k = 0; k < from.length; k++) {
    const [s, r] = [trimBlankEnds(from[k]), trimBlankEnds(to[k])];
    if (s.length === 0) {
      if (r.length > 0)
        lines = [...lines.slice(0, endBeforeFinalNewline(lines)), ...r, ...(lines.at(-1) === '' ? [''] : [])];
      continue;
    }
    const piece = locate(lines, s, r, { uniqueExact: true });
    if (!piece.ok) {
      const why = piece.why === 'ambiguous' ? `matches ${piece.at.length} places` : 'is not in the file';
      return {
        ok: false,
        why: 'elision',
        detail: `the piece of SEARCH between "..." lines starting ${JSON.stringify(s[0].trim())} ${why}`,
      };
    }
    lines = piece.lines;
  }
  return { ok: true, how: 'elision', lines };
}

const endBeforeFinalNewline = (lines: string[]) => (lines.at(-1) === '' ? lines.length - 1 : lines.length);

const splice = (content: string[], start: number, end: number, lines: string[]) => [
  ...content.slice(0, start),
  ...lines,
  ...content.slice(end),
];

export function trimBlankEnds(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && !lines[a].trim()) a++;
  while (b > a && !lines[b - 1].trim()) b--;
  return lines.slice(a, b);
}
