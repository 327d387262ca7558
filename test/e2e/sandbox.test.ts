import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPython, ROOT } from '../../src/paths';
import { executeVersion } from '../../src/exec/execute-version';
import { probeIsolation, type SandboxSettings } from '../../src/exec/sandbox';
import { runExecution } from '../../src/exec/run-execution';
import { taskSchema } from '../../src/config/task';
import { ArtifactStore } from '../../src/store/artifact-store';

// Real executions of hostile scripts through executeVersion, in the sandbox the GPU worker uses by default.
const PYTHON = defaultPython();
const SECRET = `sk-sandbox-test-${process.pid}-${Date.now()}`;
const isolation = probeIsolation(PYTHON, false);

let dir: string;
let server: Server;
let port: number;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sr-sandbox-'));
  for (const k of ['OPENAI_API_KEY', 'SPEEDRUNNER_SCRATCH', 'SPEEDRUNNER_SANDBOX']) saved[k] = process.env[k];
  process.env.OPENAI_API_KEY = SECRET; // in the worker's environment, as on a real control+GPU host
  process.env.SPEEDRUNNER_SCRATCH = join(dir, 'scratch');
  delete process.env.SPEEDRUNNER_SANDBOX; // the default: auto
  server = createServer((_req, res) => res.end('reached'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const task = (timeout_s = 60) =>
  taskSchema.parse({
    id: 't',
    description: 'd',
    workspace_template: 'w',
    fnames: ['train.py'],
    entry_fname: 'train.py',
    timeout_s,
    selection_metric: 'score',
  });

/** Runs `code` as a version's train.py; returns its outcome and log. */
async function execute(code: string, nodeId: number, timeout_s = 60) {
  const store = new ArtifactStore(join(dir, 'store'));
  const snapshot = await store.putSnapshot({ 'train.py': code });
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'train_0.bin'), 'tokens');
  const r = await executeVersion(
    store,
    {
      runId: 'sandbox',
      nodeId,
      snapshot,
      task: task(timeout_s),
      data: { train_files: join(data, 'train_*.bin'), val_tokens: 1 },
    },
    [],
  );
  return { ...r, log: (await store.getBlob(r.logRef)).toString('utf8') };
}

describe('sandbox of agent-written code', () => {
  it(`isolation here: ${isolation.wrap ? isolation.wrap.join(' ') : `UNAVAILABLE (${isolation.reason})`}`, async () => {
    const r = await execute('print("hello")\n', 0);
    expect(r.outcome).toBe('ok');
    if (isolation.wrap) expect(r.log).not.toContain('WARNING');
    else expect(r.log.split('\n')[0]).toContain('WARNING: SANDBOX UNAVAILABLE');
  });

  it('cannot read an API key from its environment or from any /proc/*/environ', async () => {
    const code = [
      'import os, glob',
      'found = [k for k, v in os.environ.items() if "sk-sandbox-test" in v]',
      'for p in glob.glob("/proc/*/environ"):',
      '    try:',
      `        if b"${SECRET}" in open(p, "rb").read(): found.append(p)`,
      '    except OSError: pass',
      'print("leaks:", found)',
      'print("score: 1")',
    ].join('\n');
    const r = await execute(code, 1);
    expect(r.outcome).toBe('ok');
    expect(r.log).toContain('leaks: []');
    expect(r.log).not.toContain(SECRET);
  });

  it.skipIf(!isolation.wrap)(
    'writes outside its workspace never reach the host: repo, /tmp, scratch, data files; its workspace and TMPDIR are writable',
    async () => {
      const escapes = [
        join(ROOT, `sandbox-escape-${process.pid}.txt`),
        join(tmpdir(), `sandbox-escape-${process.pid}.txt`),
        join(dir, 'scratch', 'escape.txt'),
      ];
      const data = join(dir, 'data', 'train_0.bin');
      const code = [
        'import os, tempfile',
        `for p in ${JSON.stringify([...escapes, data])}:`,
        '    try:',
        '        open(p, "a").write("x"); print("wrote", p)',
        '    except OSError as e: print("denied", p, e.errno)',
        'open("in-workspace.txt", "w").write("ok")',
        'tempfile.NamedTemporaryFile(delete=False).write(b"ok")',
        'print("workspace ok")',
      ].join('\n');
      const r = await execute(code, 2);
      expect(r.outcome).toBe('ok');
      // The checkout is not there (a read-only root), unless it lies under /tmp: then the write lands in
      // the private /tmp, and the check below shows it never reaches the host.
      if (!ROOT.startsWith(`${tmpdir()}/`)) expect(r.log).toContain(`denied ${ROOT}/sandbox-escape`);
      expect(r.log).toContain(`denied ${data} 30`); // the data is there, read-only (EROFS)
      expect(r.log).toContain('workspace ok');
      // The private /tmp takes writes (and the path down to the workspace is in it); none reaches the host.
      for (const t of escapes) expect(existsSync(t)).toBe(false);
      expect(readFileSync(data, 'utf8')).toBe('tokens');
      expect(r.dataChanged).toBeUndefined();
    },
  );

  it('cannot reach a loopback HTTP server of the host (when network namespaces work here)', async () => {
    const code = [
      'import urllib.request',
      'try:',
      `    print("GOT", urllib.request.urlopen("http://127.0.0.1:${port}/", timeout=5).read())`,
      'except Exception as e: print("unreachable", type(e).__name__)',
      'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print("own loopback ok")',
    ].join('\n');
    const r = await execute(code, 3);
    expect(r.outcome).toBe('ok');
    if (isolation.wrap) {
      expect(r.log).toContain('unreachable');
      expect(r.log).not.toContain('GOT');
      expect(r.log).toContain('own loopback ok'); // torchrun's rendezvous needs it
    } else {
      expect(r.log).toContain("GOT b'reached'"); // the server works; only the warning protects
      expect(r.log).toContain('WARNING: SANDBOX UNAVAILABLE');
    }
  });

  it('with network allowed (worker --network) the same server answers', async () => {
    const scratch = join(dir, 'net');
    mkdirSync(scratch, { recursive: true });
    writeFileSync(
      join(scratch, 's.py'),
      `import urllib.request\nprint("GOT", urllib.request.urlopen("http://127.0.0.1:${port}/", timeout=5).read())\n`,
    );
    const sandbox: SandboxSettings = { mode: 'auto', network: true, limits: {} };
    const r = await runExecution({
      argv: [PYTHON, 's.py'],
      cwd: scratch,
      env: { PATH: '/usr/bin:/bin' },
      timeoutMs: 60_000,
      logPath: join(scratch, 'log'),
      python: PYTHON,
      sandbox,
    });
    expect(r.outcome).toBe('ok');
    expect(readFileSync(join(scratch, 'log'), 'utf8')).toContain("GOT b'reached'");
  });

  it('leaves no process behind: a detached (setsid) grandchild dies with the execution', async () => {
    const marker = `301.${process.pid}${Math.floor(Math.random() * 1e6)}`;
    const code = `import subprocess\nsubprocess.Popen(["setsid", "sleep", "${marker}"], start_new_session=True)\nimport time; time.sleep(1)\nprint("spawned")\n`;
    const r = await execute(code, 4);
    expect(r.outcome).toBe('ok');
    expect(r.log).toContain('spawned');
    const deadline = Date.now() + 5000;
    let left: string[];
    do {
      left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(`sleep ${marker}`));
      if (left.length) await new Promise((res) => setTimeout(res, 100));
    } while (left.length && Date.now() < deadline);
    expect(left).toEqual([]);
  });

  it('a timeout also kills a detached grandchild', async () => {
    const marker = `302.${process.pid}${Math.floor(Math.random() * 1e6)}`;
    const code = `import subprocess, time\nsubprocess.Popen(["sleep", "${marker}"], start_new_session=True)\nprint("spawned", flush=True)\ntime.sleep(300)\n`;
    const r = await execute(code, 5, 3);
    expect(r.outcome).toBe('timeout');
    const deadline = Date.now() + 5000;
    let left: string[];
    do {
      left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(`sleep ${marker}`));
      if (left.length) await new Promise((res) => setTimeout(res, 100));
    } while (left.length && Date.now() < deadline);
    expect(left).toEqual([]);
  });

  it('the same guarantees hold in the fallback (--sandbox off): no leaked key, no process left', async () => {
    const scratch = join(dir, 'off');
    mkdirSync(scratch, { recursive: true });
    const marker = `303.${process.pid}${Math.floor(Math.random() * 1e6)}`;
    writeFileSync(
      join(scratch, 's.py'),
      `import os, subprocess\nsubprocess.Popen(["sleep", "${marker}"], start_new_session=True)\nprint("key" if any("sk-sandbox" in v for v in os.environ.values()) else "nokey")\n`,
    );
    const r = await runExecution({
      argv: [PYTHON, 's.py'],
      cwd: scratch,
      env: { PATH: '/usr/bin:/bin' },
      timeoutMs: 60_000,
      logPath: join(scratch, 'log'),
      python: PYTHON,
      sandbox: { mode: 'off', network: false, limits: {} },
    });
    expect(r.outcome).toBe('ok');
    const log = readFileSync(join(scratch, 'log'), 'utf8');
    expect(log.split('\n')[0]).toContain('sandbox off');
    expect(log).toContain('nokey');
    await new Promise((res) => setTimeout(res, 300));
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(`sleep ${marker}`);
  });

  it('limits: RLIMIT_CPU stops a busy loop', async () => {
    const scratch = join(dir, 'cpu');
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(scratch, 's.py'), 'while True: pass\n');
    const sandbox: SandboxSettings = { mode: 'auto', network: false, limits: { cpu_s: 1 } };
    const r = await runExecution({
      argv: [PYTHON, 's.py'],
      cwd: scratch,
      env: { PATH: '/usr/bin:/bin' },
      timeoutMs: 60_000,
      logPath: join(scratch, 'log'),
      python: PYTHON,
      sandbox,
    });
    expect(r.outcome).toBe('failed');
    expect([128 + 9, 128 + 24]).toContain(r.exitCode); // SIGXCPU at the soft limit
  });
});
