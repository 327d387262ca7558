// 3. Storage growth: versions of a 10-file workspace, each changing one file, stored through the
// content-addressed artifact store (unchanged files share blobs) vs a full copy per version.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '../src/store/artifact-store';
import { round } from './lib/stats';

export const defaults = { versions: 1000, files: 10, workspace_kb: 50 };
export const quick = { versions: 100, files: 10, workspace_kb: 50 };

/** Apparent bytes (file sizes) and allocated bytes (what the file system spends) under a directory. */
function diskUsage(dir: string): { bytes: number; allocated: number; files: number } {
  let bytes = 0;
  let allocated = 0;
  let files = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) {
      const u = diskUsage(p);
      bytes += u.bytes;
      allocated += u.allocated;
      files += u.files;
    } else {
      bytes += s.size;
      allocated += s.blocks * 512;
      files++;
    }
  }
  return { bytes, allocated, files };
}

/** Printable pseudo-random text (a stand-in for source code that compresses like nothing). */
function text(bytes: number, seed: number): string {
  let x = seed * 2654435761 + 1;
  let s = '';
  while (s.length < bytes) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += (x >>> 8).toString(36);
    if (s.length % 60 < 6) s += '\n';
  }
  return s.slice(0, bytes);
}

export async function storage(o: typeof defaults) {
  const dir = mkdtempSync(join(tmpdir(), 'speedrunner-bench-storage-'));
  try {
    const store = new ArtifactStore(join(dir, 'store'));
    const fileBytes = Math.floor((o.workspace_kb * 1024) / o.files);
    const files: Record<string, string> = {};
    for (let f = 0; f < o.files; f++) files[`src/file_${f}.py`] = text(fileBytes, f);
    const started = Date.now();
    let head = await store.putSnapshot(files);
    const base = diskUsage(join(dir, 'store'));
    let changedBytes = 0;
    for (let v = 1; v < o.versions; v++) {
      // One file changes: a line rewritten (the rest of the file as before), like an agent's edit.
      const name = `src/file_${v % o.files}.py`;
      const old = files[name];
      const at = (v * 7919) % (old.length - 40);
      files[name] = old.slice(0, at) + text(40, 100_000 + v) + old.slice(at + 40);
      changedBytes += Buffer.byteLength(files[name]);
      head = await store.deriveSnapshot(head, { [name]: files[name] });
    }
    const tookS = (Date.now() - started) / 1000;
    const total = diskUsage(join(dir, 'store'));
    const workspaceBytes = fileBytes * o.files;
    const fullCopy = workspaceBytes * o.versions;
    const growth = total.bytes - base.bytes;
    // The last version reads back whole and equal: the figures are of a store that works.
    const readBack = await store.readSnapshotFiles(head);
    if (JSON.stringify(readBack) !== JSON.stringify(files))
      throw new Error('storage bench: the last version did not read back equal');
    return {
      params: o,
      workspace_bytes: workspaceBytes,
      bytes_changed: changedBytes,
      store: { bytes: total.bytes, allocated_bytes: total.allocated, objects: total.files },
      full_copy_per_version_bytes: fullCopy,
      stored_per_changed: round(growth / changedBytes, 3),
      allocated_per_changed: round((total.allocated - base.allocated) / changedBytes, 3),
      full_copy_per_changed: round((workspaceBytes * (o.versions - 1)) / changedBytes, 3),
      store_vs_full_copy: round(total.bytes / fullCopy, 4),
      manifest_bytes_per_version: Math.round((growth - changedBytes) / (o.versions - 1)),
      versions_per_s: round(o.versions / tookS),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
