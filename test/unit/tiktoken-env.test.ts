import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTiktokenCacheDir, tiktokenCacheFiles } from '../../src/data/tiktoken-env';

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'tiktoken-env-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const digest = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('ensureTiktokenCacheDir', () => {
  it('writes the GPT-2 files under <home>/tiktoken-cache with the names and digests tiktoken expects', async () => {
    const dir = await ensureTiktokenCacheDir(home);
    expect(dir).toBe(join(home, 'tiktoken-cache'));
    const files = tiktokenCacheFiles(dir);
    // sha1 of the two openaipublic URLs: what tiktoken's read_file_cached looks for
    expect(files.map((f) => f.path.split('/').pop())).toEqual([
      createHash('sha1')
        .update('https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe')
        .digest('hex'),
      createHash('sha1')
        .update('https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json')
        .digest('hex'),
    ]);
    for (const f of files) expect(await digest(f.path)).toBe(f.sha256);
    // no temp directory is left behind
    expect((await readdir(dir)).sort()).toEqual(files.map((f) => f.path.split('/').pop()).sort());
  });

  it('is idempotent and quick when the files are present', async () => {
    const dir = await ensureTiktokenCacheDir(home);
    const before = await Promise.all(tiktokenCacheFiles(dir).map((f) => stat(f.path)));
    const t0 = performance.now();
    const [a, b] = await Promise.all([ensureTiktokenCacheDir(home), ensureTiktokenCacheDir(home)]);
    expect(performance.now() - t0).toBeLessThan(200);
    expect([a, b]).toEqual([dir, dir]);
    const after = await Promise.all(tiktokenCacheFiles(dir).map((f) => stat(f.path)));
    expect(after.map((s) => s.mtimeMs)).toEqual(before.map((s) => s.mtimeMs));
  });

  it('repairs a damaged or missing file', async () => {
    const dir = await ensureTiktokenCacheDir(home);
    const [vocab, encoder] = tiktokenCacheFiles(dir);
    await writeFile(vocab.path, 'truncated');
    await rm(encoder.path);
    await ensureTiktokenCacheDir(home);
    expect(await digest(vocab.path)).toBe(vocab.sha256);
    expect(await digest(encoder.path)).toBe(encoder.sha256);
  });
});
