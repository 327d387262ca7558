import { mkdir, readFile, writeFile, readdir, stat, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { canonicalJson, sha256 } from './hash';
import type { StoreBackend } from './backend';
import { FileBackend } from './file-backend';
import { S3Backend } from './s3-backend';
import { parseStoreLocation } from './location';
import { homeDir } from '../paths';
import { inParallel } from '../in-parallel';

/** A code version: workspace-relative path → blob hash. Stored as a blob itself; its hash names the version. */
export interface SnapshotManifest {
  kind: 'snapshot';
  files: Record<string, string>;
}

const HASH_RE = /^[0-9a-f]{64}$/;
const REF_RE = /^[A-Za-z0-9_.\-/]+$/;
/** Bytes below which re-sending a blob to a remote store is cheaper than asking first. */
const SMALL_BLOB = 64 * 1024;

/** Blobs a remote store is known to hold, per store, so a process does not ask twice. */
const knownPresent = new Map<string, Set<string>>();

/** Where a host keeps verified copies of remote blobs (`SPEEDRUNNER_BLOB_CACHE`, default `<home>/blob-cache`). */
export const blobCacheDir = () => process.env.SPEEDRUNNER_BLOB_CACHE || join(homeDir(), 'blob-cache');

/**
 * Content-addressed artifact store: blobs by sha256, verified on every read, and refs, small mutable
 * pointers (name → hash) for things looked up by name (a run's latest view, an LLM reply cache entry,
 * an execution's result). It lives in a directory (`root` a path or `file://…`, also on a shared file
 * system) or an S3 bucket (`s3://bucket/prefix`); a remote store's blobs are cached on the host, so
 * a GPU host downloads a file of a code version once.
 */
export class ArtifactStore {
  private readonly backend: StoreBackend;
  private readonly cache?: FileBackend;
  private readonly known: Set<string>;

  constructor(
    readonly root: string,
    opts: { cacheDir?: string } = {},
  ) {
    const loc = parseStoreLocation(root);
    this.backend = loc.kind === 'file' ? new FileBackend(loc.root) : new S3Backend(loc.bucket, loc.prefix);
    if (this.backend.remote) this.cache = new FileBackend(opts.cacheDir ?? blobCacheDir());
    const known = knownPresent.get(this.backend.location) ?? new Set<string>();
    knownPresent.set(this.backend.location, known);
    this.known = known;
  }

  /** The directory or URL of the store, for messages. */
  get location() {
    return this.backend.location;
  }

  private blobKey(hash: string) {
    if (!HASH_RE.test(hash)) throw new Error(`not a sha256 hash: ${JSON.stringify(hash)}`);
    return `blobs/${hash.slice(0, 2)}/${hash.slice(2)}`;
  }

  /** Stores bytes under their hash. Idempotent: the same bytes always make the same, whole object. */
  async putBlob(data: string | Uint8Array): Promise<string> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const hash = sha256(bytes);
    const key = this.blobKey(hash);
    if (!this.known.has(hash)) {
      // Over a network, writing a small blob again costs one request, as asking whether it is there
      // would: it is just written. A larger one is sent only when the store lacks it, or holds a copy
      // of another size (a damaged one, replaced).
      const ask = !this.backend.remote || bytes.byteLength > SMALL_BLOB;
      if (!ask || (await this.backend.size(key)) !== bytes.byteLength) await this.backend.write(key, bytes);
      if (this.backend.remote) this.known.add(hash);
    }
    if (this.cache && (await this.cache.size(key)) !== bytes.byteLength) await this.keepCopy(key, bytes);
    return hash;
  }

  /** The blob's bytes, checked against its hash: a damaged or partial object is never returned. */
  async getBlob(hash: string): Promise<Buffer> {
    const key = this.blobKey(hash);
    const cached = await this.cache?.read(key);
    if (cached && sha256(cached) === hash) return cached;
    let data = await this.backend.read(key);
    // One more read from a remote store: a download that was cut short is not a damaged object.
    if (data && this.backend.remote && sha256(data) !== hash) data = await this.backend.read(key);
    if (!data) throw new Error(`artifact ${hash} is missing from the store at ${this.location}`);
    if (sha256(data) !== hash) throw new Error(`artifact ${hash} in ${this.location} is corrupt (hash mismatch)`);
    if (this.backend.remote) this.known.add(hash);
    await this.keepCopy(key, data);
    return data;
  }

  /** The local copy is an optimisation: a full or read-only cache disk must not fail the store. */
  private async keepCopy(key: string, data: Uint8Array) {
    await this.cache?.write(key, data).catch(() => undefined);
  }

  async hasBlob(hash: string): Promise<boolean> {
    const key = this.blobKey(hash);
    if (this.known.has(hash) || (await this.cache?.size(key)) !== undefined) return true;
    return (await this.backend.size(key)) !== undefined;
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

  /** Points `name` at a blob. Refs are never cached: another host may move them. */
  async setRef(name: string, hash: string) {
    this.blobKey(hash);
    await this.backend.write(this.refKey(name), Buffer.from(hash));
  }

  async getRef(name: string): Promise<string | undefined> {
    const data = await this.backend.read(this.refKey(name));
    if (data === undefined) return undefined;
    const hash = data.toString('utf8').trim();
    if (!HASH_RE.test(hash)) throw new Error(`ref ${name} in ${this.location} holds no artifact hash`);
    return hash;
  }

  private refKey(name: string) {
    if (!REF_RE.test(name) || name.split('/').some((p) => p === '..' || p === '.' || p === ''))
      throw new Error(`bad ref name ${name}`);
    return `refs/${name}`;
  }

  async putSnapshot(files: Record<string, string | Uint8Array>): Promise<string> {
    const manifest: SnapshotManifest = { kind: 'snapshot', files: await this.putBlobs(files) };
    return this.putJson(manifest);
  }

  /** Stores several files, a few at a time (a remote store answers each in a round trip). */
  private async putBlobs(files: Record<string, string | Uint8Array>): Promise<Record<string, string>> {
    const entries = Object.entries(files);
    const hashes = await inParallel(entries, ([, content]) => this.putBlob(content));
    return Object.fromEntries(entries.map(([path], i) => [path, hashes[i]]));
  }

  async getSnapshot(hash: string): Promise<SnapshotManifest> {
    const m = await this.getJson<SnapshotManifest>(hash);
    if (m?.kind !== 'snapshot') throw new Error(`artifact ${hash} is not a code snapshot`);
    return m;
  }

  async readSnapshotFiles(hash: string, only?: string[]): Promise<Record<string, string>> {
    const { files } = await this.getSnapshot(hash);
    const wanted = Object.entries(files).filter(([path]) => !only || only.includes(path));
    const texts = await inParallel(wanted, ([, blob]) => this.getText(blob));
    return Object.fromEntries(wanted.map(([path], i) => [path, texts[i]]));
  }

  /** A new version from `base` with some files replaced: unchanged files keep their blobs. */
  async deriveSnapshot(base: string, changed: Record<string, string>): Promise<string> {
    const { files } = await this.getSnapshot(base);
    const next: SnapshotManifest = { kind: 'snapshot', files: { ...files } };
    Object.assign(next.files, await this.putBlobs(changed));
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
    const contents = await inParallel(Object.values(files), (blob) => this.getBlob(blob));
    await rm(dir, { recursive: true, force: true });
    for (const [i, path] of Object.keys(files).entries()) {
      const dest = join(dir, path);
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, contents[i]);
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
