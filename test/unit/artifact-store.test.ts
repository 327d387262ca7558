import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { ArtifactStore, type SnapshotManifest } from '../../src/store/artifact-store';
import { canonicalJson, sha256 } from '../../src/store/hash';
import { parseStoreLocation, resolveStoreSetting } from '../../src/store/location';
import { ConfigError, resolveRunConfig } from '../../src/config/load';

let tmp: string;
let store: ArtifactStore;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-store-'));
  store = new ArtifactStore(join(tmp, 'store'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** Every file under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  await walk(dir).catch((err) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return out.sort();
}
const blobCount = async () => (await filesUnder(join(store.root, 'blobs'))).length;
const blobFile = (hash: string) => join(store.root, 'blobs', hash.slice(0, 2), hash.slice(2));

describe('blobs', () => {
  it('are named by the sha256 of their content and stored under blobs/xx/rest', async () => {
    const hash = await store.putBlob('hello\n');
    expect(hash).toBe(createHash('sha256').update('hello\n').digest('hex'));
    expect(await readFile(blobFile(hash), 'utf8')).toBe('hello\n');
    expect(await store.getText(hash)).toBe('hello\n');
    expect(await store.hasBlob(hash)).toBe(true);
    expect(await store.hasBlob(sha256('other'))).toBe(false);
  });

  it('are deduplicated: the same bytes twice give one file, string and bytes alike', async () => {
    const a = await store.putBlob('same content');
    const b = await store.putBlob(Buffer.from('same content'));
    const c = await store.putBlob(new TextEncoder().encode('same content'));
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(await blobCount()).toBe(1);
    const d = await store.putBlob('different content');
    expect(d).not.toBe(a);
    expect(await blobCount()).toBe(2);
    // no temp files left behind by the atomic writes
    expect((await filesUnder(store.root)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('detects a corrupted blob on read', async () => {
    const hash = await store.putBlob('precious bytes');
    await writeFile(blobFile(hash), 'tampered bytes');
    await expect(store.getBlob(hash)).rejects.toThrow(`artifact ${hash} in ${store.root} is corrupt (hash mismatch)`);
    await expect(store.getText(hash)).rejects.toThrow(/corrupt/);
  });

  it('a missing blob gives an error naming the hash', async () => {
    const hash = sha256('never stored');
    await expect(store.getBlob(hash)).rejects.toThrow(`artifact ${hash} is missing from the store at ${store.root}`);
  });

  it('refuses strings that are not sha256 hashes (no path escapes)', async () => {
    await expect(store.getBlob('../../etc/passwd')).rejects.toThrow(/not a sha256 hash/);
    await expect(store.getBlob('ABCDEF'.padEnd(64, '0'))).rejects.toThrow(/not a sha256 hash/);
    await expect(store.hasBlob('xyz')).rejects.toThrow(/not a sha256 hash/);
  });

  it('JSON blobs are canonical: key order does not change the hash', async () => {
    const a = await store.putJson({ b: 1, a: { y: [3, { q: 1, p: 2 }], x: null } });
    const b = await store.putJson({ a: { x: null, y: [3, { p: 2, q: 1 }] }, b: 1 });
    expect(a).toBe(b);
    expect(await store.getJson(a)).toEqual({ a: { x: null, y: [3, { p: 2, q: 1 }] }, b: 1 });
    expect(await blobCount()).toBe(1);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    expect(canonicalJson({ z: { d: 1, c: [{ f: 1, e: 2 }] }, a: 'x' })).toBe(
      '{"a":"x","z":{"c":[{"e":2,"f":1}],"d":1}}',
    );
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson('s')).toBe('"s"');
  });
});

describe('snapshots', () => {
  async function makeDir(): Promise<string> {
    const dir = join(tmp, 'src');
    await mkdir(join(dir, 'pkg', 'deep'), { recursive: true });
    for (let i = 0; i < 8; i++) await writeFile(join(dir, `file_${i}.py`), `print(${i})\n`);
    await writeFile(join(dir, 'pkg', 'deep', 'nested.txt'), 'nested text\n');
    // every byte value, including NUL and invalid UTF-8 sequences
    await writeFile(join(dir, 'pkg', 'data.bin'), Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256)));
    return dir;
  }

  it('a 10-file dir, then a derived version changing one file adds exactly one file blob and one manifest', async () => {
    const dir = await makeDir();
    const base = await store.snapshotDir(dir);
    const manifest = await store.getSnapshot(base);
    expect(Object.keys(manifest.files)).toHaveLength(10);
    expect(Object.keys(manifest.files)).toContain('pkg/deep/nested.txt');
    expect(await blobCount()).toBe(11); // 10 distinct files + the manifest

    const next = await store.deriveSnapshot(base, { 'file_3.py': 'print("three")\n' });
    expect(next).not.toBe(base);
    expect(await blobCount()).toBe(13);
    const m2 = await store.getSnapshot(next);
    for (const [path, blob] of Object.entries(manifest.files)) {
      if (path === 'file_3.py') expect(m2.files[path]).not.toBe(blob);
      else expect(m2.files[path]).toBe(blob);
    }
    expect(await store.readSnapshotFiles(next, ['file_3.py', 'file_4.py'])).toEqual({
      'file_3.py': 'print("three")\n',
      'file_4.py': 'print(4)\n',
    });

    // Snapshotting the same tree again, or deriving the same change again, stores nothing new.
    expect(await store.snapshotDir(dir)).toBe(base);
    expect(await store.deriveSnapshot(base, { 'file_3.py': 'print("three")\n' })).toBe(next);
    expect(await blobCount()).toBe(13);
  });

  it('identical files share one blob', async () => {
    const hash = await store.putSnapshot({ 'a.py': 'x = 1\n', 'b.py': 'x = 1\n', 'c.py': 'y = 2\n' });
    const { files } = await store.getSnapshot(hash);
    expect(files['a.py']).toBe(files['b.py']);
    expect(await blobCount()).toBe(3);
  });

  it('materialize round-trips bytes exactly, nested dirs and binary files included, replacing what was there', async () => {
    const dir = await makeDir();
    const hash = await store.snapshotDir(dir);
    const out = join(tmp, 'out');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'stale.txt'), 'should disappear');
    await store.materialize(hash, out);
    const srcFiles = await filesUnder(dir);
    expect(await filesUnder(out)).toEqual(srcFiles);
    for (const f of srcFiles) {
      const [a, b] = await Promise.all([readFile(join(dir, f)), readFile(join(out, f))]);
      expect(Buffer.compare(a, b), f).toBe(0);
    }
    expect((await stat(join(out, 'pkg', 'data.bin'))).size).toBe(512);
  });

  it('snapshotDir skips dot files and __pycache__', async () => {
    const dir = join(tmp, 'ws');
    await mkdir(join(dir, '__pycache__'), { recursive: true });
    await mkdir(join(dir, '.git'), { recursive: true });
    await writeFile(join(dir, 'main.py'), 'pass\n');
    await writeFile(join(dir, '.env'), 'SECRET=1\n');
    await writeFile(join(dir, '.git', 'HEAD'), 'ref\n');
    await writeFile(join(dir, '__pycache__', 'main.cpython-311.pyc'), 'bytecode');
    const { files } = await store.getSnapshot(await store.snapshotDir(dir));
    expect(Object.keys(files)).toEqual(['main.py']);
  });

  it('a blob that is not a snapshot manifest is refused as one', async () => {
    const notManifest = await store.putJson({ kind: 'something-else', files: {} });
    await expect(store.getSnapshot(notManifest)).rejects.toThrow(`artifact ${notManifest} is not a code snapshot`);
    const manifest: SnapshotManifest = { kind: 'snapshot', files: { 'a.py': await store.putBlob('a') } };
    expect(await store.getSnapshot(await store.putJson(manifest))).toEqual(manifest);
  });

  it('materializing a snapshot whose file blob is corrupt fails loudly', async () => {
    const hash = await store.putSnapshot({ 'a.py': 'good\n' });
    const { files } = await store.getSnapshot(hash);
    await writeFile(blobFile(files['a.py']), 'evil\n');
    await expect(store.materialize(hash, join(tmp, 'out'))).rejects.toThrow(/corrupt/);
  });
});

describe('refs', () => {
  it('set, get, overwrite; unknown refs are undefined', async () => {
    const h1 = await store.putBlob('one');
    const h2 = await store.putBlob('two');
    expect(await store.getRef('runs/r1/latest')).toBeUndefined();
    await store.setRef('runs/r1/latest', h1);
    expect(await store.getRef('runs/r1/latest')).toBe(h1);
    await store.setRef('runs/r1/latest', h2);
    expect(await store.getRef('runs/r1/latest')).toBe(h2);
    await store.setRef('llm/abc-1.2_x', h1);
    expect(await store.getRef('llm/abc-1.2_x')).toBe(h1);
    expect(await readFile(join(store.root, 'refs', 'runs', 'r1', 'latest'), 'utf8')).toBe(h2);
  });

  it('rejects bad ref names', async () => {
    const h = await store.putBlob('x');
    for (const bad of ['../escape', 'a/../../b', 'has space', 'semi;colon', '', 'back\\slash', 'a/..']) {
      await expect(store.setRef(bad, h), bad).rejects.toThrow(/bad ref name/);
      await expect(store.getRef(bad), bad).rejects.toThrow(/bad ref name/);
    }
    expect((await filesUnder(tmp)).filter((f) => f.endsWith('escape') || f.endsWith('/b'))).toEqual([]);
  });
});

describe('damage is repaired or refused', () => {
  it('a blob file of the wrong size (a partial copy) is rewritten by the next put of the same bytes', async () => {
    const hash = await store.putBlob('the whole content\n');
    await writeFile(blobFile(hash), 'the wh');
    await expect(store.getBlob(hash)).rejects.toThrow(/corrupt/);
    expect(await store.putBlob('the whole content\n')).toBe(hash);
    expect(await store.getText(hash)).toBe('the whole content\n');
  });

  it('a ref that holds no hash is an error, not a pointer to garbage', async () => {
    await mkdir(join(store.root, 'refs', 'runs'), { recursive: true });
    await writeFile(join(store.root, 'refs', 'runs', 'half'), 'abc123');
    await expect(store.getRef('runs/half')).rejects.toThrow(
      'ref runs/half in ' + store.root + ' holds no artifact hash',
    );
    await expect(store.setRef('runs/half', 'not-a-hash')).rejects.toThrow(/not a sha256 hash/);
  });
});

describe('store locations', () => {
  it('file://<path> and a plain path name the same directory store', async () => {
    const hash = await store.putBlob('shared');
    const viaUrl = new ArtifactStore(`file://${store.root}`);
    expect(viaUrl.location).toBe(store.root);
    expect(await viaUrl.getText(hash)).toBe('shared');
    await viaUrl.setRef('runs/r/view', hash);
    expect(await store.getRef('runs/r/view')).toBe(hash);
  });

  it('parses s3://bucket/prefix and refuses credentials, bad buckets and unknown schemes', () => {
    expect(parseStoreLocation('s3://my-bucket/team/runs/')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'team/runs',
    });
    expect(parseStoreLocation('s3://my-bucket')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseStoreLocation('file:///srv/store')).toEqual({ kind: 'file', root: '/srv/store' });
    expect(parseStoreLocation('relative/store')).toEqual({ kind: 'file', root: 'relative/store' });
    expect(() => parseStoreLocation('s3://AKIAXXXX:topsecret@bucket/p')).toThrow(
      /credentials do not belong in the store URL; set AWS_ACCESS_KEY_ID/,
    );
    try {
      parseStoreLocation('s3://AKIAXXXX:topsecret@bucket/p');
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecret');
    }
    expect(() => parseStoreLocation('s3://Bad_Bucket/p')).toThrow(/not a valid S3 bucket name/);
    expect(() => parseStoreLocation('s3://bucket/a/../b')).toThrow(/'\.' or '\.\.' segments/);
    expect(() => parseStoreLocation('gs://bucket/p')).toThrow(
      /unsupported scheme; use a path, file:\/\/<path> or s3:\/\/<bucket>\/<prefix>/,
    );
  });

  it('run configs keep s3:// as it is and make file:// and relative paths absolute under SPEEDRUNNER_HOME', () => {
    const home = join(tmp, 'home');
    const saved = process.env.SPEEDRUNNER_HOME;
    process.env.SPEEDRUNNER_HOME = home;
    try {
      expect(resolveStoreSetting('s3://bkt/a/b/', home)).toBe('s3://bkt/a/b');
      expect(resolveStoreSetting('file://rel', home)).toBe(join(home, 'rel'));
      expect(resolveRunConfig(['task=collatz', 'model=scripted']).store).toBe(join(home, 'store'));
      expect(resolveRunConfig(['task=collatz', 'model=scripted', 'store=s3://bkt/team']).store).toBe('s3://bkt/team');
      expect(resolveRunConfig(['task=collatz', 'model=scripted', 'store=file:///mnt/shared/store']).store).toBe(
        '/mnt/shared/store',
      );
      expect(resolveRunConfig(['task=collatz', 'model=scripted', 'store=file://mine']).store).toBe(join(home, 'mine'));
      expect(() => resolveRunConfig(['task=collatz', 'model=scripted', 'store=s3://key:secret@bkt/x'])).toThrow(
        ConfigError,
      );
    } finally {
      if (saved === undefined) delete process.env.SPEEDRUNNER_HOME;
      else process.env.SPEEDRUNNER_HOME = saved;
    }
  });
});
