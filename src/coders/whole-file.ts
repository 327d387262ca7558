// coder=whole_file: the model sends back every file it changes, complete, in a fenced block labelled
// with the file's path (on the line before the fence, or in the fence's info string).
import { CoderEditError, type EditFormat } from './edit-loop';

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
    if (end < 0) throw new CoderEditError(`the code block at line ${i + 1} is not closed with ${fence}`);
    if (!path) throw new CoderEditError(`the code block at line ${i + 1} is not labelled with a file path`);
    out.push({ path, content: lines.slice(i + 1, end).join('\n') + '\n' });
    i = end;
  }
  return out;
}

export function applyWholeFiles(files: Record<string, string>, blocks: WholeFile[], fnames: string[]): Record<string, string> {
  if (blocks.length === 0) throw new CoderEditError('the reply contains no complete file in a fenced code block labelled with its path');
  const changed: Record<string, string> = {};
  for (const b of blocks) {
    if (!fnames.includes(b.path)) throw new CoderEditError(`file ${b.path} refused: only ${fnames.join(', ')} may be edited`);
    if (b.content !== files[b.path]) changed[b.path] = b.content;
  }
  if (Object.keys(changed).length === 0) throw new CoderEditError('the files sent back are unchanged');
  return changed;
}

export const wholeFileFormat: EditFormat = {
  role: 'coder-whole-file',
  apply: (reply, files, fnames) => applyWholeFiles(files, parseWholeFiles(reply), fnames),
  retryHint: 'Reply again with each changed file complete, in a fenced code block with its path on the line before.',
};
