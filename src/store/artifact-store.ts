import { mkdir, readFile, rename, writeFile, readdir, stat, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { canonicalJson, sha256 } from './hash';

/** A code version: workspace-relative path → blob hash. Stored as a blob itself; its hash names the version. */
export interface SnapshotManifest {
  kind: 'snapshot';
  files: Record<string, string>;
}

const HASH_RE = /^[0-9a-f]{64}$/;

/**
 * Content-addressed artifact store on a file system path: blobs by sha256, written atomically
 * (temp file + rename), verified on read. Refs are small mutable pointers (name → hash) for things
 * people look up by name, e.g. a run's latest tree snapshot or an LLM reply cache entry.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  private blobPath(hash: string) {
    if (!HASH_RE.test(hash)) throw new Error(`not a sha256 hash: ${JSON.stringify(hash)}`);
    return join(this.root, 'blobs', hash.slice(0, 2), hash.slice(2));
  }

  private async writeAtomic(path: string, data: string | Uint8Array) {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  }

  async putBlob(data: string | Uint8Array): Promise<string> {
    const hash = sha256(data);
    const path = this.blobPath(hash);
    if (!existsSync(path)) await this.writeAtomic(path, data);
    return hash;
  }

  async getBlob(hash: string): Promise<Buffer> {
    const data = await readFile(this.blobPath(hash)).catch((err) => {
      if (err.code === 'ENOENT') throw new Error(`artifact ${hash} is missing from the store at ${this.root}`);
      throw err;
    });
    if (sha256(data) !== hash) throw new Error(`artifact ${hash} in ${this.root} is corrupt (hash mismatch)`);
    return data;
  }

  hasBlob(hash: string) {
    return existsSync(this.blobPath(hash));
  }

  async getText(hash: string) {
    return (await this.getBlob(hash)).toString('utf8');
  }

  async putJson(value: unknown) {
    return this.putBlob(canonicalJson(value));
  }

  async getJson<T>(hash: string): Promise<T> {
    return JSON.parse(await this.getText(hash)) as T;
  }

  async setRef(name: string, hash: string) {
    await this.writeAtomic(this.refPath(name), hash);
  }

  async getRef(name: string): Promise<string | undefined> {
    const p = this.refPath(name);
    return existsSync(p) ? (await readFile(p, 'utf8')).trim() : undefined;
  }

  private refPath(name: string) {
    if (!/^[A-Za-z0-9_.\-/]+$/.test(name) || name.includes('..')) throw new Error(`bad ref name ${name}`);
    return join(this.root, 'refs', name);
  }

  async putSnapshot(files: Record<string, string | Uint8Array>): Promise<string> {
    const manifest: SnapshotManifest = { kind: 'snapshot', files: {} };
    for (const [path, content] of Object.entries(files)) manifest.files[path] = await this.putBlob(content);
    return this.putJson(manifest);
  }

  async getSnapshot(hash: string): Promise<SnapshotManifest> {
    const m = await this.getJson<SnapshotManifest>(hash);
    if (m?.kind !== 'snapshot') throw new Error(`artifact ${hash} is not a code snapshot`);
    return m;
  }

  async readSnapshotFiles(hash: string, only?: string[]): Promise<Record<string, string>> {
    const { files } = await this.getSnapshot(hash);
    const out: Record<string, string> = {};
    for (const [path, blob] of Object.entries(files)) {
      if (!only || only.includes(path)) out[path] = await this.getText(blob);
    }
    return out;
  }

  /** A new version from `base` with some files replaced: unchanged files keep their blobs. */
  async deriveSnapshot(base: string, changed: Record<string, string>): Promise<string> {
    const { files } = await this.getSnapshot(base);
    const next: SnapshotManifest = { kind: 'snapshot', files: { ...files } };
    for (const [path, content] of Object.entries(changed)) next.files[path] = await this.putBlob(content);
    return this.putJson(next);
  }

  async snapshotDir(dir: string): Promise<string> {
    const files: Record<string, Uint8Array> = {};
    for (const path of await listFiles(dir)) files[path] = await readFile(join(dir, path));
    return this.putSnapshot(files);
  }

  /** Writes the version's files under `dir` (replacing what was there). */
  async materialize(hash: string, dir: string) {
    const { files } = await this.getSnapshot(hash);
    await rm(dir, { recursive: true, force: true });
    for (const [path, blob] of Object.entries(files)) {
      const dest = join(dir, path);
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, await this.getBlob(blob));
    }
  }
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === '__pycache__' || entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, base)));
    else if ((await stat(full)).isFile()) out.push(relative(base, full).split(sep).join('/'));
  }
  return out.sort();
}
