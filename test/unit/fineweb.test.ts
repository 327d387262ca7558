import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DownloadError,
  UnreachableError,
  downloadFineweb,
  downloadShard,
  finewebFileNames,
} from '../../src/data/fineweb';
import { encodeShard } from '../../src/data/shards';
import { freePort } from '../../temporal/client/dev-server';

// A local stand-in for Hugging Face on 127.0.0.1: serves shards with Range support, and can cut a
// body off halfway, redirect, or serve a file that is not a shard. Nothing leaves the loopback.
const VAL = encodeShard(Array.from({ length: 3000 }, (_, i) => i % 50257));
const TRAIN = encodeShard(Array.from({ length: 5000 }, (_, i) => (i * 7) % 50257));
const CORRUPT = Buffer.concat([Buffer.alloc(8), TRAIN.subarray(8)]); // bad magic and version
const SHORT = TRAIN.subarray(0, TRAIN.length - 2); // header says more tokens than the file has

interface Hit {
  path: string;
  range?: string;
}
let server: Server;
let base: string;
let hits: Hit[] = [];
/** Paths whose next response is cut off after half the body (once each). */
const cutOnce = new Set<string>();

function serve(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://x');
  hits.push({ path: url.pathname, range: req.headers.range });
  if (url.pathname.startsWith('/redirect/')) {
    res.writeHead(302, { location: `/ok/${url.pathname.slice('/redirect/'.length)}` }).end();
    return;
  }
  const name = url.pathname.split('/').pop() ?? '';
  const files: Record<string, Buffer> = {
    'fineweb_val_000000.bin': VAL,
    'fineweb_train_000001.bin': TRAIN,
    'fineweb_train_000002.bin': url.pathname.startsWith('/corrupt/')
      ? CORRUPT
      : url.pathname.startsWith('/short/')
        ? SHORT
        : TRAIN,
  };
  const body = files[name];
  if (!body) {
    res.writeHead(404).end('not found');
    return;
  }
  let start = 0;
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m) {
    start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-length': body.length - start,
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
    });
  } else {
    res.writeHead(200, { 'content-length': body.length });
  }
  const part = body.subarray(start);
  if (cutOnce.delete(url.pathname)) {
    // Half the body, then a dropped connection: the client sees a premature close.
    res.write(part.subarray(0, Math.floor(part.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  res.end(part);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fineweb-'));
  server = createServer(serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const fresh = async (name: string) => {
  const d = join(dir, name);
  await rm(d, { recursive: true, force: true });
  hits = [];
  return d;
};
const fast = { retryDelayMs: 10, connectTimeoutMs: 2000 };

describe('finewebFileNames', () => {
  it('names the val shard then train shards from 1', () => {
    expect(finewebFileNames(2)).toEqual([
      'fineweb_val_000000.bin',
      'fineweb_train_000001.bin',
      'fineweb_train_000002.bin',
    ]);
    expect(() => finewebFileNames(0)).toThrow(/from 1 to 103/);
    expect(() => finewebFileNames(104)).toThrow(/from 1 to 103/);
  });
});

describe('downloadFineweb against a local server', () => {
  it('downloads, checks and renames each shard, and skips valid ones the next time', async () => {
    const out = await fresh('plain');
    const progress: number[] = [];
    const got = await downloadFineweb(out, 1, {
      ...fast,
      baseUrl: `${base}/ok`,
      onProgress: (p) => progress.push(p.received),
    });
    expect(got.map((f) => [f.name, f.tokens, f.bytes, f.outcome])).toEqual([
      ['fineweb_val_000000.bin', 3000, 1024 + 6000, 'downloaded'],
      ['fineweb_train_000001.bin', 5000, 1024 + 10000, 'downloaded'],
    ]);
    expect(await readFile(join(out, 'fineweb_train_000001.bin'))).toEqual(TRAIN);
    expect((await readdir(out)).sort()).toEqual(['fineweb_train_000001.bin', 'fineweb_val_000000.bin']);
    expect(progress.at(-1)).toBe(TRAIN.length);

    hits = [];
    const again = await downloadFineweb(out, 1, { ...fast, baseUrl: `${base}/ok` });
    expect(again.map((f) => f.outcome)).toEqual(['present', 'present']);
    expect(hits).toEqual([]);
  });

  it('follows redirects, as Hugging Face resolve URLs do', async () => {
    const out = await fresh('redirect');
    const got = await downloadShard('fineweb_train_000001.bin', out, { ...fast, baseUrl: `${base}/redirect/` });
    expect(got.outcome).toBe('downloaded');
    expect(await readFile(got.path)).toEqual(TRAIN);
  });

  it('resumes with a Range request after the connection drops mid-body', async () => {
    const out = await fresh('cut');
    cutOnce.add('/ok/fineweb_train_000001.bin');
    const retries: string[] = [];
    const got = await downloadShard('fineweb_train_000001.bin', out, {
      ...fast,
      baseUrl: `${base}/ok`,
      onRetry: (_n, _a, e) => retries.push(e.message),
    });
    expect(retries).toHaveLength(1);
    expect(hits).toHaveLength(2);
    expect(hits[0].range).toBeUndefined();
    const from = Number(/^bytes=(\d+)-$/.exec(hits[1].range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThan(TRAIN.length);
    expect(got).toMatchObject({ outcome: 'resumed', tokens: 5000 });
    expect(await readFile(got.path)).toEqual(TRAIN);
    expect(existsSync(`${got.path}.part`)).toBe(false);
  });

  it('resumes a .part left by an earlier, interrupted process', async () => {
    const out = await fresh('leftover');
    await downloadShard('fineweb_val_000000.bin', out, { ...fast, baseUrl: `${base}/ok` }); // creates the dir
    await writeFile(join(out, 'fineweb_train_000001.bin.part'), TRAIN.subarray(0, 4000));
    hits = [];
    const got = await downloadShard('fineweb_train_000001.bin', out, { ...fast, baseUrl: `${base}/ok` });
    expect(hits.map((h) => h.range)).toEqual(['bytes=4000-']);
    expect(got.outcome).toBe('resumed');
    expect(await readFile(got.path)).toEqual(TRAIN);
  });

  it('finishes a .part that already holds every byte (the server answers 416)', async () => {
    const out = await fresh('complete-part');
    await downloadShard('fineweb_val_000000.bin', out, { ...fast, baseUrl: `${base}/ok` });
    await writeFile(join(out, 'fineweb_train_000001.bin.part'), TRAIN);
    const got = await downloadShard('fineweb_train_000001.bin', out, { ...fast, baseUrl: `${base}/ok` });
    expect(got.outcome).toBe('resumed');
    expect(await readFile(got.path)).toEqual(TRAIN);
  });

  it('rejects a file that is not a valid shard and leaves nothing behind', async () => {
    for (const kind of ['corrupt', 'short']) {
      const out = await fresh(kind);
      const err = await downloadShard('fineweb_train_000002.bin', out, { ...fast, baseUrl: `${base}/${kind}` }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(DownloadError);
      expect(err.message).toMatch(
        kind === 'corrupt'
          ? /not a valid shard, deleted: .*bad magic number 0/
          : /not a valid shard, deleted: .*size mismatch/,
      );
      expect(await readdir(out)).toEqual([]);
    }
  });

  it('replaces an invalid file found under the final name', async () => {
    const out = await fresh('bad-final');
    await downloadShard('fineweb_val_000000.bin', out, { ...fast, baseUrl: `${base}/ok` });
    await writeFile(join(out, 'fineweb_train_000001.bin'), CORRUPT);
    const got = await downloadShard('fineweb_train_000001.bin', out, { ...fast, baseUrl: `${base}/ok` });
    expect(got.outcome).toBe('downloaded');
    expect(await readFile(got.path)).toEqual(TRAIN);
  });

  it('names a missing file clearly', async () => {
    const out = await fresh('missing');
    await expect(downloadShard('fineweb_train_000099.bin', out, { ...fast, baseUrl: `${base}/ok` })).rejects.toThrow(
      /fineweb_train_000099\.bin: HTTP 404 \(no such file in the dataset\)/,
    );
  });

  it('fails fast, without retrying, when the host refuses connections', async () => {
    const out = await fresh('offline');
    const port = await freePort(); // free, so nothing listens: connection refused
    const t0 = Date.now();
    const err = await downloadFineweb(out, 1, { baseUrl: `http://127.0.0.1:${port}/x`, retryDelayMs: 5000 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toMatch(
      new RegExp(`cannot reach 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*speedrunner data from-text`),
    );
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('gives up after the connect timeout when nothing answers', async () => {
    const out = await fresh('silent');
    // A server that accepts and never answers: the connect timer (headers included) fires.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const t0 = Date.now();
      const err = await downloadShard('fineweb_val_000000.bin', out, {
        baseUrl: `http://127.0.0.1:${port}/`,
        connectTimeoutMs: 300,
      }).catch((e) => e);
      expect(err).toBeInstanceOf(UnreachableError);
      expect(err.message).toMatch(/no answer within/);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });
});
