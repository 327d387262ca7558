// coder=whole_file: the model sends back every file it changes, complete, in a fenced block labelled
// with the file's path (on the line before the fence, or in the fence's info string).
import { EditError, type BlockFailure } from '../edits/edit-error';
import { resolveEditPath } from '../edits/edit-paths';
import type { EditApplication, EditOptions } from '../edits/search-replace';
import type { EditFormat } from './edit-loop';

export interface WholeFile {
  path: string;
  content: string;
}

const OPEN = /^(`{3,})\s*(\S*)\s*(\S*)\s*$/;

export function parseWholeFiles(reply: string): WholeFile[] {
  const lines = reply.replace(/\r\n/g, '\n').split('\n');
  const out: WholeFile[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i]);
    if (!open) continue;
    const [, fence, info1, info2] = open;
    // ```python path.py, ```path.py, or a path alone on the line before a bare or language fence.
    const labelled = [info2, info1].find((s) => s && /[./]/.test(s));
    const before = lines[i - 1]?.trim().replace(/^[*#`\s]+|[*:`\s]+$/g, '');
    const path = labelled ?? (before || undefined);
    const end = lines.findIndex((l, k) => k > i && l.trim() === fence);
    if (end < 0) throw new EditError(`the code block at line ${i + 1} is not closed with ${fence}`);
    if (!path) throw new EditError(`the code block at line ${i + 1} is not labelled with a file path`);
    out.push({ path, content: lines.slice(i + 1, end).join('\n') + '\n' });
    i = end;
  }
  return out;
}

/**
 * The files sent back that may be written; the others are failures (partial, as for SEARCH/REPLACE).
 * Paths are read as edit-paths.ts reads them (`./x.py`, `v_3/x.py`, …) and refused as it refuses.
 * Throws an EditError when nothing changes.
 */
export function applyWholeFiles(
  files: Record<string, string>,
  blocks: WholeFile[],
  opts: EditOptions,
): EditApplication {
  if (blocks.length === 0)
    throw new EditError('the reply contains no complete file in a fenced code block labelled with its path');
  const { fnames } = opts;
  const versionPaths = new Set(opts.versionPaths ?? Object.keys(files));
  const changed: Record<string, string> = {};
  const applied: EditApplication['applied'] = [];
  const failed: BlockFailure[] = []; // block 0: a whole file is named by its path
  blocks.forEach((b, i) => {
    const target = resolveEditPath(b.path, fnames, opts.allowNewFiles);
    if ('refused' in target)
      return failed.push({ block: 0, path: b.path, message: target.refused.replace(/^edit to/, 'file') });
    if (!target.editable && !(opts.allowNewFiles && !versionPaths.has(target.path))) {
      return failed.push({
        block: 0,
        path: b.path,
        message: `file ${b.path} refused: only ${fnames.join(', ')} may be edited`,
      });
    }
    applied.push({ block: i + 1, path: target.path });
    if (b.content !== files[target.path]) changed[target.path] = b.content;
    else delete changed[target.path];
  });
  if (Object.keys(changed).length === 0) {
    if (failed.length === 0) throw new EditError('the files sent back are unchanged');
    throw new EditError(failed.map((f) => f.message).join('\n'), failed);
  }
  return { changed, applied, failed };
}

export const wholeFileFormat: EditFormat = {
  role: 'coder-whole-file',
  apply: (reply, files, opts) => applyWholeFiles(files, parseWholeFiles(reply), opts),
  retryHint: 'Reply again with each changed file complete, in a fenced code block with its path on the line before.',
};
