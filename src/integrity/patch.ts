// A unified diff applied to a task's starting files, for static verdicts on patches
// (`speedrunner integrity check`, the human-diff acceptance test and bench).
import { applyPatch, parsePatch } from 'diff';
import type { FileChange } from './flags';

export class PatchError extends Error {}

const bare = (name: string | undefined) => (name ?? '').replace(/^[ab]\//, '').trim();

/**
 * The files a patch changes, before and after. Each file patch is matched to a starting file by its
 * path (`a/` `b/` prefixes dropped) or base name; a single-file patch naming no known file (the
 * reference's `temp_current.py`) applies to `entry`. Throws PatchError when a patch does not apply.
 */
export function applyToFiles(files: Record<string, string>, patch: string, entry: string): FileChange[] {
  let parsed;
  try {
    parsed = parsePatch(patch);
  } catch (err) {
    throw new PatchError(`not a unified diff: ${(err as Error).message}`);
  }
  const patches = parsed.filter((p) => p.hunks.length > 0);
  if (patches.length === 0) throw new PatchError('the patch has no hunks');
  const names = Object.keys(files);
  const changes: FileChange[] = [];
  for (const p of patches) {
    const wanted = [bare(p.newFileName), bare(p.oldFileName)].filter((n) => n && n !== '/dev/null');
    const path =
      wanted
        .map((w) => names.find((n) => n === w) ?? names.find((n) => n.split('/').pop() === w.split('/').pop()))
        .find(Boolean) ?? (patches.length === 1 ? entry : undefined);
    if (!path || files[path] === undefined)
      throw new PatchError(
        `the patch changes ${wanted[0] ?? 'an unnamed file'}, which is not a starting file (${names.join(', ')})`,
      );
    const after = applyPatch(files[path], p);
    if (after === false) throw new PatchError(`the patch does not apply to ${path}`);
    changes.push({ path, before: files[path], after });
  }
  return changes;
}
