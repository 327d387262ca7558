/**
 * Downloads the published GPT-2-tokenized FineWeb shards (the speedrun's training data) from
 * Hugging Face: `fineweb_val_000000.bin` and `fineweb_train_000001.bin`… (100M tokens, ~200 MB
 * each). Each file streams into `<name>.part`, resumes with an HTTP Range request after a broken
 * connection (in this call or an earlier one), is checked as a shard (magic, version, size =
 * header + 2 × tokens), and only then is renamed into place, so a file under its final name is
 * always whole. Files already there and valid are not fetched again.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readShardHeader } from './shards';

export const FINEWEB_BASE_URL = 'https://huggingface.co/datasets/kjj0/fineweb10B-gpt2/resolve/main';
/** Train shards the dataset holds (103 × 100M tokens ≈ 10.3B). */
export const FINEWEB_TRAIN_SHARDS = 103;

/** The val shard, then train shards 1..n, as named in the dataset. */
export function finewebFileNames(trainShards: number): string[] {
  if (!Number.isInteger(trainShards) || trainShards < 1 || trainShards > FINEWEB_TRAIN_SHARDS) {
    throw new Error(`train shards must be an integer from 1 to ${FINEWEB_TRAIN_SHARDS}, got ${trainShards}`);
  }
  const train = Array.from({ length: trainShards }, (_, i) => `fineweb_train_${String(i + 1).padStart(6, '0')}.bin`);
  return ['fineweb_val_000000.bin', ...train];
}

/** The host cannot be reached at all (DNS, refused, timed out): retrying will not help. */
export class UnreachableError extends Error {}
/** The server answered, but with something that is not a shard or an error status that retrying will not fix. */
export class DownloadError extends Error {}

export type ShardOutcome = 'present' | 'downloaded' | 'resumed';

export interface FetchedShard {
  name: string;
  path: string;
  tokens: number;
  bytes: number;
  outcome: ShardOutcome;
}

export interface DownloadProgress {
  name: string;
  /** Bytes in the `.part` file so far (resumed bytes included). */
  received: number;
  /** Whole file size, when the server said. */
  total?: number;
}

export interface DownloadOptions {
  /** Where `<file>` URLs start (default FINEWEB_BASE_URL); tests point it at a local server. */
  baseUrl?: string;
  /** Time allowed for DNS, connect, TLS and the response headers (default 10 s). */
  connectTimeoutMs?: number;
  /** A body that sends nothing for this long is treated as broken and resumed (default 60 s). */
  idleTimeoutMs?: number;
  /** Tries per file before giving up (default 5). */
  attempts?: number;
  /** Pause before a retry, doubled each time (default 1 s). */
  retryDelayMs?: number;
  onFileStart?: (name: string, resumeFrom: number) => void;
  onProgress?: (p: DownloadProgress) => void;
  onRetry?: (name: string, attempt: number, error: Error) => void;
}

// Errors that mean "no connection at all": DNS failures, refused, unroutable, our own connect timeout.
const UNREACHABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'ECONNECT_TIMEOUT',
]);

interface Opened {
  res: IncomingMessage;
  url: URL;
}

/** GETs url (following redirects) and resolves once headers arrive; the connect timer covers each hop. */
async function open(
  url: URL,
  fromByte: number,
  opts: Required<Pick<DownloadOptions, 'connectTimeoutMs' | 'idleTimeoutMs'>>,
  hops = 0,
): Promise<Opened> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'speedrunner (node)' };
    if (fromByte > 0) headers.range = `bytes=${fromByte}-`;
    const req = lib.get(url, { headers });
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`no answer within ${opts.connectTimeoutMs / 1000} s`), {
        code: 'ECONNECT_TIMEOUT',
      });
      req.destroy(err);
    }, opts.connectTimeoutMs);
    req.setTimeout(opts.idleTimeoutMs, () =>
      req.destroy(Object.assign(new Error(`no data for ${opts.idleTimeoutMs / 1000} s`), { code: 'EIDLE' })),
    );
    req.on('response', (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume();
    if (hops >= 10) throw new DownloadError(`${url}: too many redirects`);
    return open(new URL(res.headers.location, url), fromByte, opts, hops + 1);
  }
  return { res, url };
}

/** Counts bytes as they pass, for progress. */
function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

const sizeOf = async (path: string) => (await stat(path).catch(() => undefined))?.size ?? 0;

/**
 * One attempt: resumes `partPath` from its current size. Resolves when the part holds the whole
 * file (by the server's own size), throws on any break; `answered` is set once a server replied.
 */
async function attemptOnce(
  name: string,
  url: URL,
  partPath: string,
  opts: Required<Pick<DownloadOptions, 'connectTimeoutMs' | 'idleTimeoutMs'>> & DownloadOptions,
  state: { answered: boolean; resumed: boolean },
): Promise<void> {
  const have = await sizeOf(partPath);
  opts.onFileStart?.(name, have);
  const { res, url: finalUrl } = await open(url, have, opts);
  state.answered = true;
  const status = res.statusCode ?? 0;

  if (status === 416) {
    // The part already holds every byte the server has: finished before an earlier break.
    res.resume();
    const total = Number(/\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1]);
    if (have > 0 && total === have) {
      state.resumed = true;
      return;
    }
    await rm(partPath, { force: true });
    throw new Error(`server refused the range bytes=${have}- (HTTP 416); starting over`);
  }
  if (status === 429 || status >= 500) {
    res.resume();
    throw new Error(`HTTP ${status} from ${finalUrl.host}`);
  }
  if (status !== 200 && status !== 206) {
    res.resume();
    const hint =
      status === 404 ? ' (no such file in the dataset)' : status === 401 || status === 403 ? ' (access denied)' : '';
    throw new DownloadError(`${url}: HTTP ${status}${hint}`);
  }

  let start = 0;
  let total: number | undefined;
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== have) {
      res.resume();
      await rm(partPath, { force: true });
      throw new Error(`server sent range "${res.headers['content-range']}" for bytes=${have}-; starting over`);
    }
    start = have;
    if (m[3] !== '*') total = Number(m[3]);
    state.resumed = true;
  } else {
    // 200: the whole file from byte 0 (a server that ignores Range does this too).
    const len = res.headers['content-length'];
    if (len !== undefined) total = Number(len);
  }

  let received = start;
  opts.onProgress?.({ name, received, total });
  await pipeline(
    res,
    counter((n) => {
      received += n;
      opts.onProgress?.({ name, received, total });
    }),
    createWriteStream(partPath, { flags: start > 0 ? 'a' : 'w' }),
  );
  const size = await sizeOf(partPath);
  if (total !== undefined && size !== total) throw new Error(`connection ended after ${size} of ${total} bytes`);
}

/**
 * Fetches one shard into `dir/name`. A valid file already there is kept; a leftover `.part` is
 * resumed. Throws UnreachableError when the server cannot be reached before it ever answered,
 * DownloadError for a file that is not a valid shard (the part is deleted) or a hopeless status.
 */
export async function downloadShard(name: string, dir: string, opts: DownloadOptions = {}): Promise<FetchedShard> {
  const full = {
    ...opts,
    connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
  };
  const path = join(dir, name);
  const partPath = `${path}.part`;
  await mkdir(dir, { recursive: true });

  if (existsSync(path)) {
    try {
      const h = await readShardHeader(path);
      return { name, path, tokens: h.tokenCount, bytes: h.byteLength, outcome: 'present' };
    } catch {
      // Not ours to keep: a whole file only ever lands here after passing this check.
      await rm(path, { force: true });
    }
  }

  const url = new URL(name, (opts.baseUrl ?? FINEWEB_BASE_URL).replace(/\/?$/, '/'));
  const attempts = Math.max(1, opts.attempts ?? 5);
  const state = { answered: false, resumed: false };
  let delay = opts.retryDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      await attemptOnce(name, url, partPath, full, state);
      break;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e instanceof DownloadError) throw e;
      if (!state.answered && UNREACHABLE_CODES.has(e.code ?? '')) {
        throw new UnreachableError(
          `cannot reach ${url.host}: ${e.message}. Check the network connection (HTTP proxy variables are not used), ` +
            'or use `speedrunner data from-text` to make shards from local text',
        );
      }
      if (attempt >= attempts) throw new DownloadError(`${url}: failed after ${attempts} tries: ${e.message}`);
      opts.onRetry?.(name, attempt, e);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }

  let header;
  try {
    header = await readShardHeader(partPath);
  } catch (err) {
    await rm(partPath, { force: true });
    throw new DownloadError(`${url} is not a valid shard, deleted: ${(err as Error).message}`);
  }
  await rename(partPath, path);
  return {
    name,
    path,
    tokens: header.tokenCount,
    bytes: header.byteLength,
    outcome: state.resumed ? 'resumed' : 'downloaded',
  };
}

/** The val shard and the first `trainShards` train shards into `outDir`, one after another. */
export async function downloadFineweb(
  outDir: string,
  trainShards: number,
  opts: DownloadOptions = {},
): Promise<FetchedShard[]> {
  const out: FetchedShard[] = [];
  for (const name of finewebFileNames(trainShards)) out.push(await downloadShard(name, outDir, opts));
  return out;
}
