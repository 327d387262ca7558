import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPython, ROOT } from '../../src/paths';
import { executeVersion, scratchDir } from '../../src/exec/execute-version';
import { probeIsolation } from '../../src/exec/sandbox';
import { runExecution } from '../../src/exec/run-execution';
import { taskSchema } from '../../src/config/task';
import { ArtifactStore } from '../../src/store/artifact-store';

// The allow-list root, through executeVersion exactly as the GPU worker runs a version: what agent
// code can read (only its workspace, data, Python and the system), and that SysV IPC dies with it.
const PYTHON = defaultPython();
const isolation = probeIsolation(PYTHON, false);
const CANARY = `canary-${process.pid}-${Date.now()}`;

let dir: string;
let home: string;
const saved: Record<string, string | undefined> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-reads-'));
  home = join(dir, 'home');
  for (const k of ['SPEEDRUNNER_HOME', 'SPEEDRUNNER_SCRATCH', 'SPEEDRUNNER_SANDBOX']) saved[k] = process.env[k];
  process.env.SPEEDRUNNER_HOME = home;
  process.env.SPEEDRUNNER_SCRATCH = join(dir, 'scratch');
  delete process.env.SPEEDRUNNER_SANDBOX; // the default: auto
  // What a host running many runs holds: the server's history, the store, another run's workspace.
  mkdirSync(join(home, 'store'), { recursive: true });
  writeFileSync(join(home, 'temporal.db'), CANARY);
  writeFileSync(join(home, 'store', 'reply.txt'), CANARY);
  const other = join(scratchDir('other-run', 7), 'workspace');
  mkdirSync(other, { recursive: true });
  writeFileSync(join(other, 'train.py'), CANARY);
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  rmSync(dir, { recursive: true, force: true });
});

const task = taskSchema.parse({
  id: 't',
  description: 'd',
  workspace_template: 'w',
  fnames: ['train.py'],
  entry_fname: 'train.py',
  timeout_s: 60,
  selection_metric: 'score',
});

async function execute(code: string, nodeId: number) {
  const store = new ArtifactStore(join(home, 'store'));
  const snapshot = await store.putSnapshot({ 'train.py': code });
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'train_0.bin'), 'tokens');
  const r = await executeVersion(
    store,
    { runId: 'reads', nodeId, snapshot, task, data: { train_files: join(data, 'train_*.bin'), val_tokens: 1 } },
    [],
  );
  return { ...r, log: (await store.getBlob(r.logRef)).toString('utf8') };
}

/** Python that reports, as one JSON line, what each path looks like from inside. */
const LOOK = (paths: string[]) =>
  [
    'import json, os, socket',
    'def look(p):',
    '    try:',
    '        return sorted(os.listdir(p)) if os.path.isdir(p) else open(p).read()[:200]',
    '    except OSError as e:',
    '        return f"errno {e.errno}"',
    `print("SEEN", json.dumps({"host": socket.gethostname(), **{p: look(p) for p in ${JSON.stringify(paths)}}}))`,
    'print("score: 1")',
  ].join('\n');

describe.skipIf(!isolation.wrap)('allow-list filesystem', () => {
  it('reads nothing of the host but its workspace, data, Python and system: no /etc/shadow, SPEEDRUNNER_HOME, other scratch, checkout, /root, /home', async () => {
    const data = join(dir, 'data', 'train_0.bin');
    const otherRun = join(scratchDir('other-run', 7), 'workspace', 'train.py');
    const paths = [
      '/etc/shadow',
      '/etc/passwd',
      join(home, 'temporal.db'),
      join(home, 'store'),
      home,
      otherRun,
      join(ROOT, 'package.json'),
      ROOT,
      '/root',
      '/home',
      data,
      join(home, 'tiktoken-cache'),
    ];
    const r = await execute(LOOK(paths), 1);
    expect(r.outcome).toBe('ok');
    expect(r.log).not.toContain(CANARY);
    const seen = JSON.parse(
      r.log
        .split('\n')
        .find((l) => l.startsWith('SEEN '))!
        .slice(5),
    ) as Record<string, string | string[]>;
    const ENOENT = 'errno 2';
    for (const p of [
      '/etc/shadow',
      join(home, 'temporal.db'),
      join(home, 'store'),
      otherRun,
      join(ROOT, 'package.json'),
      '/home',
    ])
      expect([p, seen[p]]).toEqual([p, ENOENT]);
    expect(seen['/etc/passwd']).toMatch(/^root:x:0:0:/); // the sandbox's own, a few lines
    expect(String(seen['/etc/passwd']).split('\n').length).toBeLessThanOrEqual(4);
    expect(seen[home]).toEqual(['tiktoken-cache']); // the one directory of the home it is told about
    expect((seen[join(home, 'tiktoken-cache')] as string[]).length).toBeGreaterThan(0);
    expect(seen[data]).toBe('tokens');
    // The checkout shows only the project venv (the interpreter's prefix), /root only the path to the base interpreter.
    const hostRoot = readdirSync('/root');
    expect(hostRoot.length).toBeGreaterThan(1);
    for (const [p, host] of [
      [ROOT, readdirSync(ROOT)],
      ['/root', hostRoot],
    ] as const) {
      const inside = seen[p] as string[];
      expect(inside.length).toBeLessThan(host.length);
      for (const entry of inside) expect(['.venv', '.pyenv']).toContain(entry);
    }
    expect(seen.host).toBe('sandbox'); // its own UTS namespace
  });

  it('a SysV shared-memory segment made by one execution is gone for the next (and never on the host)', async () => {
    const key = 0x5a000000 + (process.pid % 0xffff);
    const shm = (create: boolean) =>
      [
        'import ctypes, os',
        'libc = ctypes.CDLL(None, use_errno=True)',
        `shmid = libc.shmget(${key}, 4096, ${create ? '0o1000 | 0o600' : '0'})`,
        create
          ? 'libc.shmat.restype = ctypes.c_void_p\nctypes.memmove(libc.shmat(shmid, None, 0), b"left-behind", 11)\nprint("made", shmid)'
          : 'print("found" if shmid >= 0 else f"gone errno {ctypes.get_errno()}")',
        'print("score: 1")',
      ].join('\n');
    const onHost = () =>
      readFileSync('/proc/sysvipc/shm', 'utf8')
        .split('\n')
        .slice(1)
        .some((l) => l.trim().split(/\s+/)[0] === String(key));
    const made = await execute(shm(true), 2);
    expect(made.log).toMatch(/made \d+/);
    expect(onHost()).toBe(false);
    const next = await execute(shm(false), 3);
    expect(next.log).toContain('gone errno 2');

    // The control: without namespaces the same script leaves the segment on the host.
    const ws = join(dir, 'off');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, 's.py'), shm(true));
    const off = await runExecution({
      argv: [PYTHON, 's.py'],
      cwd: ws,
      env: { PATH: '/usr/bin:/bin' },
      timeoutMs: 30_000,
      logPath: join(ws, 'log'),
      python: PYTHON,
      sandbox: { mode: 'off', network: false, limits: {} },
    });
    expect(off.outcome).toBe('ok');
    try {
      expect(onHost()).toBe(true);
    } finally {
      execFileSync(PYTHON, ['-c', `import ctypes; l = ctypes.CDLL(None); l.shmctl(l.shmget(${key}, 0, 0), 0, None)`]); // IPC_RMID
    }
    expect(onHost()).toBe(false);
  });
});
