/**
 * A TIKTOKEN_CACHE_DIR for executions: Python `tiktoken.get_encoding("gpt2")` (which training or
 * agent-written code may call, e.g. to decode samples) downloads two files on first use, and GPU
 * hosts often have no network. We write those files ourselves, rebuilt from js-tiktoken's bundled
 * ranks and checked against tiktoken's own sha256 digests, once per home directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GPT2_DATA_GYM_FILES, writeTiktokenGpt2Cache } from './from-text';

const inFlight = new Map<string, Promise<string>>();

/**
 * Makes sure `<home>/tiktoken-cache` holds the GPT-2 files and returns that directory. Files
 * already there are only checked (a few ms); missing or damaged ones are rebuilt (about a second)
 * in a private directory and renamed into place, so executions and workers doing this at the same
 * time never see half a file.
 */
export function ensureTiktokenCacheDir(homeDir: string): Promise<string> {
  const dir = join(homeDir, 'tiktoken-cache');
  let p = inFlight.get(dir);
  if (!p) {
    p = prepare(dir).finally(() => inFlight.delete(dir));
    inFlight.set(dir, p);
  }
  return p;
}

/** The cache file names (sha1 of the URL, as tiktoken's read_file_cached looks them up) and digests. */
export function tiktokenCacheFiles(dir: string): { path: string; sha256: string }[] {
  return Object.values(GPT2_DATA_GYM_FILES).map(({ url, sha256 }) => ({
    path: join(dir, createHash('sha1').update(url).digest('hex')),
    sha256,
  }));
}

async function allValid(dir: string): Promise<boolean> {
  for (const { path, sha256 } of tiktokenCacheFiles(dir)) {
    const data = await readFile(path).catch(() => undefined);
    if (!data || createHash('sha256').update(data).digest('hex') !== sha256) return false;
  }
  return true;
}

async function prepare(dir: string): Promise<string> {
  if (await allValid(dir)) return dir;
  const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    for (const file of await writeTiktokenGpt2Cache(tmp)) await rename(file.path, join(dir, basename(file.path)));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
