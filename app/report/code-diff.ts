import { createTwoFilesPatch } from 'diff';
import type { ArtifactStore } from '../../src/store/artifact-store';

export interface FileChange {
  path: string;
  added: number;
  removed: number;
  binary?: boolean;
}

export interface CodeDiff {
  /** Unified diff of every changed text file (git-style `a/` and `b/` names), '' when nothing changed. */
  patch: string;
  files: FileChange[];
}

const isBinary = (data: Buffer) => data.subarray(0, 8000).includes(0);

/**
 * The unified diff from one code version to another, read from the store. Files whose blob hash is
 * the same are skipped without being read, so a version that changed one file costs one diff.
 */
export async function diffSnapshots(store: ArtifactStore, from: string | undefined, to: string): Promise<CodeDiff> {
  const before = from ? (await store.getSnapshot(from)).files : {};
  const after = (await store.getSnapshot(to)).files;
  const paths = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const patches: string[] = [];
  const files: FileChange[] = [];
  for (const path of paths) {
    if (before[path] === after[path]) continue;
    const [a, b] = await Promise.all([
      before[path] ? store.getBlob(before[path]) : undefined,
      after[path] ? store.getBlob(after[path]) : undefined,
    ]);
    if ((a && isBinary(a)) || (b && isBinary(b))) {
      files.push({ path, added: 0, removed: 0, binary: true });
      continue;
    }
    const patch = createTwoFilesPatch(
      a ? `a/${path}` : '/dev/null',
      b ? `b/${path}` : '/dev/null',
      a?.toString('utf8') ?? '',
      b?.toString('utf8') ?? '',
      undefined,
      undefined,
      { context: 3 },
    );
    const lines = patch.split('\n');
    // Only hunk lines count; the `---`/`+++` header lines come before the first `@@`.
    const body = lines.slice(lines.findIndex((l) => l.startsWith('@@')));
    files.push({
      path,
      added: body.filter((l) => l.startsWith('+')).length,
      removed: body.filter((l) => l.startsWith('-')).length,
    });
    patches.push(patch);
  }
  return { patch: patches.join('\n'), files };
}
