/**
 * Aider-style SEARCH/REPLACE edit blocks:
 *
 *     path/to/file.py
 *     <<<<<<< SEARCH
 *     old lines
 *     =======
 *     new lines
 *     >>>>>>> REPLACE
 *
 * Applied with an exact match first, then a whitespace-tolerant one (trailing spaces, then a uniform
 * indentation shift). Only files in `fnames` may be edited; an empty SEARCH on an empty or new file
 * writes the whole file.
 */
export interface EditBlock {
  path: string;
  search: string;
  replace: string;
}

export class EditError extends Error {}

const HEAD = /^<{5,9} SEARCH\s*$/;
const DIVIDER = /^={5,9}\s*$/;
const TAIL = /^>{5,9} REPLACE\s*$/;

export function parseEditBlocks(reply: string): EditBlock[] {
  const lines = reply.replace(/\r\n/g, '\n').split('\n');
  const blocks: EditBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!HEAD.test(lines[i])) continue;
    const path = findPath(lines, i);
    if (!path) throw new EditError(`edit block at line ${i + 1} has no file name on the line before "<<<<<<< SEARCH"`);
    const search: string[] = [];
    let j = i + 1;
    while (j < lines.length && !DIVIDER.test(lines[j])) search.push(lines[j++]);
    if (j >= lines.length) throw new EditError(`edit block for ${path} has no "=======" divider`);
    const replace: string[] = [];
    j++;
    while (j < lines.length && !TAIL.test(lines[j])) replace.push(lines[j++]);
    if (j >= lines.length) throw new EditError(`edit block for ${path} has no ">>>>>>> REPLACE" end`);
    blocks.push({ path, search: search.join('\n'), replace: replace.join('\n') });
    i = j;
  }
  return blocks;
}

function findPath(lines: string[], head: number): string | undefined {
  for (let k = head - 1; k >= 0 && k >= head - 3; k--) {
    const t = lines[k].trim().replace(/^`+\w*$/, '').replace(/^[*#`\s]+|[*:`\s]+$/g, '');
    if (t) return t;
  }
  return undefined;
}

/** Applies blocks to `files` (path → content); returns only the changed files' new contents. */
export function applyEditBlocks(
  files: Record<string, string>,
  blocks: EditBlock[],
  fnames: string[],
): Record<string, string> {
  if (blocks.length === 0) throw new EditError('the reply contains no SEARCH/REPLACE edit block');
  const changed: Record<string, string> = {};
  for (const block of blocks) {
    if (!fnames.includes(block.path)) {
      throw new EditError(`edit to ${block.path} refused: only ${fnames.join(', ')} may be edited`);
    }
    const current = changed[block.path] ?? files[block.path] ?? '';
    changed[block.path] = replaceOnce(current, block);
  }
  for (const [path, content] of Object.entries(changed)) if (content === files[path]) delete changed[path];
  if (Object.keys(changed).length === 0) throw new EditError('the edits change nothing');
  return changed;
}

function replaceOnce(content: string, { path, search, replace }: EditBlock): string {
  if (search.trim() === '') {
    if (content.trim() !== '') throw new EditError(`empty SEARCH for ${path}, which is not empty`);
    return ensureNewline(replace);
  }
  const exact = content.indexOf(search);
  if (exact >= 0) return content.slice(0, exact) + replace + content.slice(exact + search.length);
  const fuzzy = tolerantReplace(content, search, replace);
  if (fuzzy !== undefined) return fuzzy;
  const first = search.split('\n').find((l) => l.trim()) ?? '';
  throw new EditError(`SEARCH text not found in ${path} (first line: ${JSON.stringify(first.trim()).slice(0, 120)})`);
}

const ensureNewline = (s: string) => (s.endsWith('\n') ? s : s + '\n');

/** Line-wise match ignoring trailing whitespace and a uniform indentation difference. */
function tolerantReplace(content: string, search: string, replace: string): string | undefined {
  const lines = content.split('\n');
  const want = trimEmptyEnds(search.split('\n'));
  const norm = (l: string) => l.trimEnd();
  const indent = (l: string) => l.length - l.trimStart().length;
  for (let start = 0; start + want.length <= lines.length; start++) {
    const window = lines.slice(start, start + want.length);
    const firstCode = want.findIndex((l) => l.trim());
    const shift = indent(window[firstCode]) - indent(want[firstCode]);
    const same = window.every((line, k) => {
      if (!want[k].trim()) return !line.trim();
      const adjusted = shift >= 0 ? ' '.repeat(shift) + want[k] : want[k].slice(-shift);
      return norm(line) === norm(adjusted);
    });
    if (!same) continue;
    const newLines = trimEmptyEnds(replace.split('\n')).map((l) =>
      !l.trim() ? l : shift >= 0 ? ' '.repeat(shift) + l : l.slice(Math.min(-shift, indent(l))),
    );
    return [...lines.slice(0, start), ...newLines, ...lines.slice(start + want.length)].join('\n');
  }
  return undefined;
}

function trimEmptyEnds(lines: string[]) {
  let a = 0;
  let b = lines.length;
  while (a < b && !lines[a].trim()) a++;
  while (b > a && !lines[b - 1].trim()) b--;
  return lines.slice(a, b);
}
