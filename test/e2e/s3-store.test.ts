import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { createServer, request, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { loadScript, startScriptedServer } from '../../src/llm/scripted-server';
import { ROOT, venvBin } from '../../src/paths';
import { loadRunView } from '../../src/store/run-view-store';
import { ArtifactStore } from '../../src/store/artifact-store';
import { sha256 } from '../../src/store/hash';
import { freePort, isPortOpen } from '../../temporal/client/dev-server';
import { cli, connect, makeEnv, startWorker, stopWorker, trackCleanups, waitFor } from '../helpers/harness';

// The S3 backend against a real S3-compatible server (moto, server mode) started here, reached
// through a recording HTTP proxy that counts requests and bytes and can cut an upload mid-body.

const onCleanup = trackCleanups();
const CREDS = {
  AWS_ACCESS_KEY_ID: 'testing-access-key',
  AWS_SECRET_ACCESS_KEY: 'testing-secret-never-shown',
  AWS_REGION: 'us-east-1',
};

interface Exchange {
  via: string;
  method: string;
  path: string;
  status: number;
  up: number;
  down: number;
  ms: number;
}

/** An HTTP proxy to moto that records every exchange and can cut PUT bodies short. */
class RecordingProxy {
  log: Exchange[] = [];
  /** PUTs still to cut (after `cutAfter` body bytes), whose path includes `cutPath`. */
  cutPuts = 0;
  cutAfter = 1024;
  cutPath = '/blobs/';
  private servers: Server[] = [];

  constructor(private readonly upstream: number) {}

  /** A listening port whose exchanges are tagged `via` (e.g. one per worker). */
  async listen(via: string): Promise<string> {
    const server = createServer((req, res) => {
      const started = performance.now();
      const cut = req.method === 'PUT' && this.cutPuts > 0 && req.url!.includes(this.cutPath);
      if (cut) this.cutPuts--;
      const chunks: Buffer[] = [];
      let up = 0;
      req.on('data', (c: Buffer) => {
        up += c.length;
        if (cut && up >= this.cutAfter) {
          this.log.push({
            via,
            method: req.method!,
            path: req.url!,
            status: 0,
            up,
            down: 0,
            ms: performance.now() - started,
          });
          req.socket.destroy(); // the connection drops mid-upload, as a network failure would
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        if (req.socket.destroyed) return;
        const out = request(
          { host: '127.0.0.1', port: this.upstream, method: req.method, path: req.url, headers: req.headers },
          (up2) => {
            let down = 0;
            res.writeHead(up2.statusCode!, up2.headers);
            up2.on('data', (c: Buffer) => {
              down += c.length;
              res.write(c);
            });
            up2.on('end', () => {
              res.end();
              this.log.push({
                via,
                method: req.method!,
                path: req.url!,
                status: up2.statusCode!,
                up,
                down,
                ms: performance.now() - started,
              });
            });
          },
        );
        out.on('error', () => req.socket.destroy());
        out.end(Buffer.concat(chunks));
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.servers.push(server);
    return `http://127.0.0.1:${port}`;
  }

  close() {
    for (const s of this.servers) {
      s.closeAllConnections();
      s.close();
    }
  }
}

let moto: ResultPromise;
let motoPort: number;
let proxy: RecordingProxy;
let endpoint: string;
let raw: S3Client;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  motoPort = await freePort();
  moto = execa(venvBin('moto_server'), ['-H', '127.0.0.1', '-p', String(motoPort)], { reject: false, stdio: 'ignore' });
  await waitFor('moto server', () => isPortOpen(motoPort), 60_000);
  proxy = new RecordingProxy(motoPort);
  endpoint = await proxy.listen('test');
  // This process's stores reach moto through the proxy, like the workers below.
  for (const [k, v] of Object.entries({ ...CREDS, AWS_ENDPOINT_URL: endpoint })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  raw = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${motoPort}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
});

afterAll(async () => {
  proxy?.close();
  moto?.kill('SIGTERM');
  await moto?.catch(() => {});
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

async function bucket(): Promise<string> {
  const name = `sr-${randomBytes(4).toString('hex')}`;
  await raw.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

function cacheDir() {
  const dir = mkdtempSync(join(tmpdir(), 'sr-blob-cache-'));
  onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const rawGet = async (b: string, key: string) =>
  Buffer.from(await (await raw.send(new GetObjectCommand({ Bucket: b, Key: key }))).Body!.transformToByteArray());
const rawPut = (b: string, key: string, body: string | Buffer) =>
  raw.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body }));
const blobKey = (prefix: string, hash: string) => `${prefix}/blobs/${hash.slice(0, 2)}/${hash.slice(2)}`;
/** A run's history as text with every payload decoded, so nothing can hide in base64. */
function decodedHistory(history: unknown): string {
  const json = JSON.stringify(history);
  return json.replace(
    /"data":"([A-Za-z0-9+/=]+)"/g,
    (_m, b64: string) => `"data":${JSON.stringify(Buffer.from(b64, 'base64').toString('utf8'))}`,
  );
}

/** Exchanges with the proxy from now on. */
const mark = () => {
  const from = proxy.log.length;
  return () => proxy.log.slice(from);
};

describe('the S3 artifact store', () => {
  it('stores content-addressed blobs and refs under the prefix; a second store reads them and skips uploads that are already there', async () => {
    const b = await bucket();
    const store = new ArtifactStore(`s3://${b}/team/store`, { cacheDir: cacheDir() });
    expect(store.location).toBe(`s3://${b}/team/store`);
    const snap = await store.putSnapshot({
      'a.py': 'print(1)\n',
      'pkg/b.py': 'print(2)\n',
      'data.bin': Buffer.from([0, 255, 1, 254]),
    });
    await store.setRef('runs/r1/view', snap);
    const keys = (await raw.send(new ListObjectsV2Command({ Bucket: b }))).Contents!.map((o) => o.Key).sort();
    expect(keys).toHaveLength(5); // 3 files + manifest + ref
    expect(keys.every((k) => k!.startsWith('team/store/'))).toBe(true);
    expect(keys).toContain('team/store/refs/runs/r1/view');
    expect((await rawGet(b, blobKey('team/store', sha256('print(1)\n')))).toString()).toBe('print(1)\n');

    // Another host (a fresh cache) reads it all back, byte for byte.
    const other = new ArtifactStore(`s3://${b}/team/store/`, { cacheDir: cacheDir() });
    expect(await other.getRef('runs/r1/view')).toBe(snap);
    expect(await other.getRef('runs/none')).toBeUndefined();
    expect(await other.readSnapshotFiles(snap)).toEqual({
      'a.py': 'print(1)\n',
      'pkg/b.py': 'print(2)\n',
      'data.bin': Buffer.from([0, 255, 1, 254]).toString('utf8'),
    });

    // A large blob that another host uploaded is found with one HEAD, not sent again ...
    const foreign = randomBytes(200_000);
    await rawPut(b, blobKey('team/store', sha256(foreign)), foreign);
    const seen = mark();
    expect(await store.putBlob(foreign)).toBe(sha256(foreign));
    expect(seen().map((e) => e.method)).toEqual(['HEAD']);
    // ... a small one is just written (one request either way), to the same bytes ...
    const small = `uploaded elsewhere ${randomBytes(4).toString('hex')}`;
    await rawPut(b, blobKey('team/store', sha256(small)), small);
    const written = mark();
    expect(await store.putBlob(small)).toBe(sha256(small));
    expect(written().map((e) => e.method)).toEqual(['PUT']);
    expect((await rawGet(b, blobKey('team/store', sha256(small)))).toString()).toBe(small);
    // ... and what this process stored or read once is not sent or asked about again.
    const again = mark();
    await store.putBlob(foreign);
    await store.putBlob(small);
    await store.putSnapshot({
      'a.py': 'print(1)\n',
      'pkg/b.py': 'print(2)\n',
      'data.bin': Buffer.from([0, 255, 1, 254]),
    });
    expect(again()).toEqual([]);
  });

  it('verifies every download: a damaged object is refused, never returned', async () => {
    const b = await bucket();
    const store = new ArtifactStore(`s3://${b}/s`, { cacheDir: cacheDir() });
    const hash = await store.putBlob('precious bytes');
    await rawPut(b, blobKey('s', hash), 'tampered bytes'); // same size, other content
    const fresh = new ArtifactStore(`s3://${b}/s`, { cacheDir: cacheDir() });
    await expect(fresh.getBlob(hash)).rejects.toThrow(`artifact ${hash} in s3://${b}/s is corrupt (hash mismatch)`);
    await expect(fresh.getBlob(sha256('never stored'))).rejects.toThrow(
      `artifact ${sha256('never stored')} is missing from the store at s3://${b}/s`,
    );
  });

  it('a host caches blobs it read: the second read makes no request; a damaged cache copy is fetched again', async () => {
    const b = await bucket();
    const cache = cacheDir();
    const writer = new ArtifactStore(`s3://${b}/c`, { cacheDir: cacheDir() });
    const hash = await writer.putBlob('x'.repeat(10_000));
    const reader = new ArtifactStore(`s3://${b}/c`, { cacheDir: cache });
    const first = mark();
    expect((await reader.getBlob(hash)).length).toBe(10_000);
    expect(first().map((e) => e.method)).toEqual(['GET']);
    const second = mark();
    expect((await reader.getBlob(hash)).length).toBe(10_000);
    expect(second()).toEqual([]);
    await writeFile(join(cache, 'blobs', hash.slice(0, 2), hash.slice(2)), 'y'.repeat(10_000));
    const third = mark();
    expect((await reader.getText(hash))[0]).toBe('x');
    expect(third().map((e) => e.method)).toEqual(['GET']);
  });

  it('an upload cut off mid-body is retried whole; one that keeps failing fails loudly and leaves nothing readable', async () => {
    const b = await bucket();
    const store = new ArtifactStore(`s3://${b}/u`, { cacheDir: cacheDir() });
    const big = randomBytes(3 * 1024 * 1024);
    const hash = sha256(big);

    proxy.cutPuts = 1;
    proxy.cutAfter = 256 * 1024;
    const cut = mark();
    expect(await store.putBlob(big)).toBe(hash);
    const puts = cut().filter((e) => e.method === 'PUT');
    expect(puts.map((e) => e.status)).toEqual([0, 200]); // the first attempt dropped at 256 KiB, the retry went through
    expect(puts[0].up).toBeLessThan(big.length);
    expect(sha256(await rawGet(b, blobKey('u', hash)))).toBe(hash);

    // Every attempt cut: the caller gets an error naming the store and the object; nothing partial exists.
    const other = randomBytes(2 * 1024 * 1024);
    proxy.cutPuts = 100;
    try {
      await expect(store.putBlob(other)).rejects.toThrow(
        new RegExp(`^artifact store s3://${b}/u: could not write blobs/${sha256(other).slice(0, 2)}/`),
      );
    } finally {
      proxy.cutPuts = 0;
    }
    const reader = new ArtifactStore(`s3://${b}/u`, { cacheDir: cacheDir() });
    expect(await reader.hasBlob(sha256(other))).toBe(false);
    await expect(reader.getBlob(sha256(other))).rejects.toThrow(/is missing from the store/);
    // Once the network is back, the same call completes it.
    expect(await store.putBlob(other)).toBe(sha256(other));
    expect(sha256(await reader.getBlob(sha256(other)))).toBe(sha256(other));
  });

  it('a partial object at a blob key (as a non-atomic store could leave) is never read as valid, and the next upload repairs it', async () => {
    const b = await bucket();
    const data = randomBytes(100_000);
    const hash = sha256(data);
    await rawPut(b, blobKey('p', hash), data.subarray(0, 40_000));
    const store = new ArtifactStore(`s3://${b}/p`, { cacheDir: cacheDir() });
    await expect(store.getBlob(hash)).rejects.toThrow(/is corrupt \(hash mismatch\)/);
    const repair = mark();
    expect(await store.putBlob(data)).toBe(hash);
    expect(repair().map((e) => e.method)).toEqual(['HEAD', 'PUT']); // the size told it the copy was partial
    expect(sha256(await store.getBlob(hash))).toBe(hash);
  });

  it('a ref update cut off keeps the old value: readers never see half a pointer', async () => {
    const b = await bucket();
    const store = new ArtifactStore(`s3://${b}/r`, { cacheDir: cacheDir() });
    const [h1, h2] = [await store.putBlob('one'), await store.putBlob('two')];
    await store.setRef('runs/x/view', h1);
    proxy.cutPuts = 100;
    proxy.cutPath = '/refs/';
    proxy.cutAfter = 10;
    try {
      await expect(store.setRef('runs/x/view', h2)).rejects.toThrow(/could not write refs\/runs\/x\/view/);
    } finally {
      proxy.cutPuts = 0;
      proxy.cutPath = '/blobs/';
    }
    expect(await store.getRef('runs/x/view')).toBe(h1);
    await store.setRef('runs/x/view', h2);
    expect(await store.getRef('runs/x/view')).toBe(h2);
  });

  it('a missing bucket is named in the error', async () => {
    const store = new ArtifactStore('s3://no-such-bucket-here/p', { cacheDir: cacheDir() });
    await expect(store.putBlob('x')).rejects.toThrow(`(bucket 'no-such-bucket-here' does not exist at ${endpoint})`);
  });
});

describe('a run with store=s3://…', () => {
  it('runs end to end with both workers on S3, and costs this many requests and bytes per version', async () => {
    const b = await bucket();
    const t = makeEnv(inject('temporalPort'));
    const model = await startScriptedServer(loadScript(join(ROOT, 'test/fixtures/scripts/counter-faster.yaml')));
    onCleanup(() => model.close());
    // Each worker reaches S3 through its own proxy port, so the cost of each is known.
    const caches = { control: cacheDir(), gpu: cacheDir() };
    for (const kind of ['control', 'gpu'] as const) {
      const w = await startWorker(t, kind, {
        ...CREDS,
        AWS_ENDPOINT_URL: await proxy.listen(kind),
        SPEEDRUNNER_BLOB_CACHE: caches[kind],
      });
      onCleanup(() => stopWorker(w));
    }
    const from = proxy.log.length;
    const started = Date.now();
    const res = await cli(t, [
      'run',
      'task=counter',
      `model.base_url=${model.url}`,
      'science_runner=bon',
      'n_iterations=4',
      `store=s3://${b}/runs`,
      '--detach',
      '--json',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const { runId } = JSON.parse(res.stdout);
    const client = await connect(t.port);
    const result = await client.workflow.getHandle(runId).result();
    const wallMs = Date.now() - started;
    expect(result).toMatchObject({ nodes: 5, buggy: 0 });

    // Everything went to the bucket: no local store was made, the view and the logs read back from S3.
    expect(existsSync(join(t.home, 'store'))).toBe(false);
    const view = (await loadRunView(new ArtifactStore(`s3://${b}/runs`, { cacheDir: cacheDir() }), runId))!;
    expect(view.nodes.map((n) => n.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    const store = new ArtifactStore(`s3://${b}/runs`, { cacheDir: cacheDir() });
    expect(await store.getText(view.nodes[4].logRef!)).toMatch(/score: /);
    const status = JSON.parse((await cli(t, ['status', runId, '--json'])).stdout);
    expect(status).toMatchObject({ status: 'COMPLETED', nodes: 5 });
    // The GPU host cached the code it ran; the secrets stayed in the workers' environment.
    expect(readdirSync(join(caches.gpu, 'blobs')).length).toBeGreaterThan(0);
    for (const n of view.nodes) expect(n.metrics.secrets_visible).toBe(0);
    const history = decodedHistory(await client.workflow.getHandle(runId).fetchHistory());
    expect(history).not.toContain(CREDS.AWS_SECRET_ACCESS_KEY);
    expect(history).not.toContain(CREDS.AWS_ACCESS_KEY_ID);
    expect(history).toContain(`s3://${b}/runs`); // in a decoded payload: the store URL is there, the keys are not

    // Cost per version (5 versions: the root and 4 children).
    const exchanges = proxy.log.slice(from).filter((e) => e.via !== 'test');
    const versions = view.nodes.length;
    const per = (via: string) => {
      const mine = exchanges.filter((e) => e.via === via);
      const count = (m: string) => mine.filter((e) => e.method === m).length;
      return {
        requests: +(mine.length / versions).toFixed(1),
        GET: +(count('GET') / versions).toFixed(1),
        HEAD: +(count('HEAD') / versions).toFixed(1),
        PUT: +(count('PUT') / versions).toFixed(1),
        bytes_up: Math.round(mine.reduce((s, e) => s + e.up, 0) / versions),
        bytes_down: Math.round(mine.reduce((s, e) => s + e.down, 0) / versions),
        ms: Math.round(mine.reduce((s, e) => s + e.ms, 0) / versions),
      };
    };
    const cost = { versions, run_wall_ms: wallMs, control: per('control'), gpu: per('gpu') };
    console.log(`S3 store cost per version: ${JSON.stringify(cost)}`);
    expect(exchanges.every((e) => e.status >= 200 && e.status < 500)).toBe(true);
    expect(cost.gpu.PUT).toBeGreaterThanOrEqual(1); // each execution uploads at least its log
    expect(cost.control.PUT).toBeGreaterThanOrEqual(1);
  });
});
