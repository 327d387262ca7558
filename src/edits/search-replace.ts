/**
 * Aider-style SEARCH/REPLACE edit blocks ("diff" edit format):
 *
 *     path/to/file.py
 *     <<<<<<< SEARCH
 *     old lines
 *     =======
 *     new lines
 *     >>>>>>> REPLACE
 *
 * Read as leniently as aider reads them, applied block by block: the blocks that match are applied,
 * the others come back as failures with the file's nearest lines, for the model to fix. What may be
 * written is not lenient: see edit-paths.ts. Pure (no I/O).
 */
import { EditError, type BlockFailure } from './edit-error';
import { pathOnLine, resolveEditPath } from './edit-paths';
import { locate, partLines, trimBlankEnds, type Located } from './locate';
import { nearestLines } from './nearest-lines';

export interface EditBlock {
  path: string;
  search: string;
  replace: string;
  /** 1-based position among the reply's SEARCH markers. */
  block?: number;
}

export interface ParsedReply {
  blocks: EditBlock[];
  /** Blocks that could not be read (no divider, cut off, no file name). */
  failures: BlockFailure[];
}

/**
 * Markers are matched on the trimmed line, so blocks indented inside a markdown list count (aider
 * strips each line too); `<<<<<<< SEARCH>` is aider's accepted typo; ORIGINAL/UPDATED are aider's
 * older marker words; 5 to 9 marker characters, as in aider.
 */
const HEAD = /^<{5,9} ?(?:SEARCH|ORIGINAL)>?$/i;
const DIVIDER = /^={5,9}$/;
const TAIL = /^>{5,9} ?(?:REPLACE|UPDATED)$/i;
const isHead = (line: string) => HEAD.test(line.trim());

/** How many lines above a SEARCH marker a file name may stand (aider looks at 3). */
const NAME_LOOKBACK = 3;

/**
 * The blocks of a reply. A block's file is the name on one of the 3 lines above its marker; failing
 * that the previous block's file (aider's current_filename); failing that, the only editable file.
 */
export function parseEditReply(reply: string, fnames: string[] = []): ParsedReply {
  const lines = reply.replace(/\r\n?/g, '\n').split('\n');
  const blocks: EditBlock[] = [];
  const failures: BlockFailure[] = [];
  let previous: string | undefined;
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!isHead(lines[i])) continue;
    const head = i;
    n++;
    const path = findPath(lines, i, fnames) ?? previous ?? (fnames.length === 1 ? fnames[0] : undefined);
    const fail = (message: string) => failures.push({ block: n, path: path ?? '', message });
    const search: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !DIVIDER.test(lines[j].trim()) && !isHead(lines[j]); j++) search.push(lines[j]);
    if (j >= lines.length || isHead(lines[j])) {
      fail(`the block${path ? ` for ${path}` : ''} has no "=======" line after its SEARCH part`);
      i = j - 1;
      continue;
    }
    const replace: string[] = [];
    for (j++; j < lines.length && !TAIL.test(lines[j].trim()) && !isHead(lines[j]); j++) replace.push(lines[j]);
    if (j >= lines.length || isHead(lines[j])) {
      fail(`the block${path ? ` for ${path}` : ''} has no ">>>>>>> REPLACE" line (was the reply cut off?)`);
      i = j - 1;
      continue;
    }
    i = j;
    if (!path) {
      fail(
        `the block has no file name on the line before "<<<<<<< SEARCH"${fnames.length ? `; name one of: ${fnames.join(', ')}` : ''}`,
      );
      continue;
    }
    const [s, r] = unindentList(lines[head], search, replace);
    blocks.push({ path, search: s.join('\n'), replace: r.join('\n'), block: n });
    previous = path;
  }
  return { blocks, failures };
}

/** The blocks of a reply; throws the first unreadable block as an EditError. */
export function parseEditBlocks(reply: string, fnames: string[] = []): EditBlock[] {
  const { blocks, failures } = parseEditReply(reply, fnames);
  if (failures.length) throw new EditError(describeFailure(failures[0]), failures);
  return blocks;
}

function findPath(lines: string[], head: number, fnames: string[]): string | undefined {
  for (let k = head - 1; k >= 0 && k >= head - NAME_LOOKBACK; k--) {
    const t = lines[k].trim();
    if (isHead(t) || DIVIDER.test(t) || TAIL.test(t)) return undefined; // the previous block's end
    const path = pathOnLine(t, fnames);
    if (path) return path;
  }
  return undefined;
}

/** A block whose markers are indented (inside a markdown list) has its lines indented the same: strip that. */
function unindentList(headLine: string, search: string[], replace: string[]): [string[], string[]] {
  const indent = /^[ \t]*/.exec(headLine)![0];
  if (!indent) return [search, replace];
  const all = [...search, ...replace].filter((l) => l.trim() !== '');
  if (!all.every((l) => l.startsWith(indent))) return [search, replace];
  const cut = (ls: string[]) =>
    ls.map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trim() === '' ? '' : l));
  return [cut(search), cut(replace)];
}

export interface EditOptions {
  /** The files the model may edit. */
  fnames: string[];
  /**
   * The task lets the model create files outside `fnames`: an empty SEARCH on a relative path the
   * version does not have. Default false: a new file must be one of `fnames`.
   */
  allowNewFiles?: boolean;
  /** Every path of the version, so that a new file never overwrites a read-only one. Default: the keys of `files`. */
  versionPaths?: string[];
}

export interface AppliedBlock {
  block: number;
  path: string;
  /** Set when it applied somewhere other than where it said, or by a lenient rung. */
  note?: string;
}

export interface EditApplication {
  /** The files the applied blocks changed (path → new content); never empty. */
  changed: Record<string, string>;
  applied: AppliedBlock[];
  /** Blocks that did not apply; empty when the whole reply applied. */
  failed: BlockFailure[];
}

/**
 * Applies the blocks that can be applied, in order (a block sees the earlier blocks' results), and
 * reports the others. Throws an EditError when nothing at all changes: no blocks, every block
 * failed, or the edits cancel out.
 */
export function applyEdits(
  files: Record<string, string>,
  parsed: ParsedReply | EditBlock[],
  opts: EditOptions,
): EditApplication {
  const { blocks, failures: unreadable } = Array.isArray(parsed) ? { blocks: parsed, failures: [] } : parsed;
  if (blocks.length === 0 && unreadable.length === 0)
    throw new EditError('the reply contains no SEARCH/REPLACE edit block');
  const working: Record<string, string> = { ...files };
  const applied: AppliedBlock[] = [];
  const failed: BlockFailure[] = [...unreadable];
  const versionPaths = new Set(opts.versionPaths ?? Object.keys(files));
  blocks.forEach((b, i) => {
    const outcome = applyOne(working, b, opts, versionPaths);
    const block = b.block ?? i + 1;
    if ('message' in outcome) failed.push({ block, path: b.path, message: outcome.message });
    else {
      working[outcome.path] = outcome.content;
      applied.push({ block, path: outcome.path, ...(outcome.note ? { note: outcome.note } : {}) });
    }
  });
  failed.sort((a, b) => a.block - b.block);
  const changed = Object.fromEntries(Object.entries(working).filter(([path, text]) => text !== files[path]));
  if (Object.keys(changed).length === 0) {
    if (failed.length === 0) throw new EditError('the edits change nothing');
    throw new EditError(
      failed.length === 1
        ? describeFailure(failed[0])
        : `none of the edit blocks applied:\n${failed.map(describeFailure).join('\n')}`,
      failed,
    );
  }
  return { changed, applied, failed };
}

/** parse + apply, as the search_replace coder does. */
export const applyEditReply = (reply: string, files: Record<string, string>, opts: EditOptions) =>
  applyEdits(files, parseEditReply(reply, opts.fnames), opts);

/** All or nothing: the changed files, or an EditError for the first block that fails (the agent's apply_edit). */
export function applyEditBlocks(
  files: Record<string, string>,
  blocks: EditBlock[],
  opts: EditOptions | string[],
): Record<string, string> {
  const res = applyEdits(files, blocks, Array.isArray(opts) ? { fnames: opts } : opts);
  if (res.failed.length) throw new EditError(describeFailure(res.failed[0]), res.failed);
  return res.changed;
}

export const describeFailure = (f: BlockFailure) => (f.block > 0 ? `block ${f.block}: ${f.message}` : f.message);

type OneOutcome = { path: string; content: string; note?: string } | { message: string };

function applyOne(
  working: Record<string, string>,
  b: EditBlock,
  opts: EditOptions,
  versionPaths: Set<string>,
): OneOutcome {
  const creating = b.search.trim() === '';
  const target = resolveEditPath(b.path, opts.fnames, creating);
  if ('refused' in target) return { message: target.refused };
  // a new file: one the version does not have, created by this block or an earlier one
  const isNew =
    !target.editable && opts.allowNewFiles && !versionPaths.has(target.path) && (creating || target.path in working);
  if (!target.editable && !isNew)
    return { message: `edit to ${b.path} refused: only ${opts.fnames.join(', ')} may be edited` };
  const path = target.path;
  const current = working[path] ?? '';
  const moved = path !== b.path.trim() ? `named ${b.path}` : undefined;
  if (creating) {
    // Stricter than aider, which appends the REPLACE to a non-empty file: a model sending a whole new
    // file this way would get it twice.
    if (current.trim() !== '')
      return {
        message: `empty SEARCH for ${path}, which is not empty: SEARCH must quote the lines to change (to add at the end, quote the last lines)`,
      };
    const text = b.replace.endsWith('\n') || b.replace === '' ? b.replace : `${b.replace}\n`;
    return { path, content: text, note: moved };
  }
  const search = partLines(b.search);
  const replace = partLines(b.replace);
  // Stricter than aider, which writes such a "..." into the file: it would delete the lines it stands for.
  if (dots(replace) > dots(search)) {
    return {
      message: `REPLACE for ${path} has a "..." line that SEARCH has not: "..." stands for lines left out, so write those lines out (or pair each "..." of REPLACE with one in SEARCH)`,
    };
  }
  const here = locate(current.split('\n'), search, replace);
  if (here.ok)
    return {
      path,
      content: here.lines.join('\n'),
      note: [moved, lenientNote(here)].filter(Boolean).join('; ') || undefined,
    };
  if (here.why === 'none') {
    // aider tries a block that misses its file against the other editable files
    const elsewhere = opts.fnames
      .filter((f) => f !== path && f in working)
      .flatMap((f) => {
        const there = locate(working[f].split('\n'), search, replace, { uniqueExact: true });
        return there.ok ? [{ f, there }] : [];
      });
    if (elsewhere.length === 1)
      return {
        path: elsewhere[0].f,
        content: elsewhere[0].there.lines.join('\n'),
        note: `named ${b.path}, matched ${elsewhere[0].f}`,
      };
  }
  return { message: notFound(path, current, search, replace, here) };
}

const dots = (lines: string[]) => lines.filter((l) => l.trim() === '...').length;

function lenientNote(l: Extract<Located, { ok: true }>): string | undefined {
  return l.how === 'exact'
    ? undefined
    : {
        whitespace: 'matched ignoring whitespace',
        'blank-lines': 'matched ignoring whitespace and blank lines',
        elision: 'matched piece by piece around "..."',
      }[l.how];
}

function notFound(
  path: string,
  current: string,
  search: string[],
  replace: string[],
  why: Exclude<Located, { ok: true }>,
): string {
  const first = JSON.stringify((trimBlankEnds(search)[0] ?? '').trim()).slice(0, 120);
  if (why.why === 'ambiguous') {
    return `SEARCH text (first line: ${first}) matches ${why.at.length} places in ${path} (lines ${why.at.join(', ')}) once whitespace is ignored; include more lines so that it matches one place`;
  }
  if (why.why === 'elision')
    return `SEARCH text (first line: ${first}) with "..." lines could not be applied to ${path}: ${why.detail}`;
  const lines = current.split('\n');
  const parts = [`SEARCH text not found in ${path} (first line: ${first})`];
  const near = nearestLines(lines, search);
  if (near)
    parts.push(`The nearest lines of ${path} (lines ${near.from}-${near.to}) are:\n\`\`\`\n${near.text}\n\`\`\``);
  const replaced = trimBlankEnds(replace);
  if (replaced.length && locate(lines, replaced, replaced).ok)
    parts.push(`The REPLACE lines are already in ${path}: if this block was applied before, do not send it again.`);
  return parts.join('\n');
}
