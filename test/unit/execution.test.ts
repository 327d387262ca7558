import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { defaultPython, homeDir, ROOT } from '../../src/paths';
import { runExecution, type ExecutionSpec } from '../../src/exec/run-execution';
import { GpuSlots } from '../../src/exec/gpu-slots';
import { commandFor, executeVersion, scratchDir } from '../../src/exec/execute-version';
import { executionEnv } from '../../src/exec/execution-env';
import { taskPython } from '../../src/exec/task-env';
import { taskSchema, type TaskInput } from '../../src/config/task';
import { ArtifactStore } from '../../src/store/artifact-store';
import { MIB } from '../../src/exec/capped-log';
import { cachedExecution, executionKey, saveExecution } from '../../src/exec/result-cache';
import { sandboxSettings } from '../../src/exec/sandbox';
import { judgeExecution } from '../../src/metrics/analyze';

const PYTHON = defaultPython();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let savedSecret: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-exec-'));
  savedSecret = process.env.SR_TEST_SECRET;
  process.env.SR_TEST_SECRET = 'leak-me-not-4711';
});
afterEach(() => {
  if (savedSecret === undefined) delete process.env.SR_TEST_SECRET;
  else process.env.SR_TEST_SECRET = savedSecret;
  rmSync(dir, { recursive: true, force: true });
});

const baseEnv = () => ({
  PATH: [dirname(PYTHON), '/usr/bin', '/bin'].join(':'),
  LANG: 'C.UTF-8',
  PYTHONUNBUFFERED: '1',
});

function spec(code: string, over: Partial<ExecutionSpec> = {}): ExecutionSpec {
  writeFileSync(join(dir, 'script.py'), code);
  return {
    argv: [PYTHON, 'script.py'],
    cwd: dir,
    env: baseEnv(),
    timeoutMs: 30_000,
    logPath: join(dir, 'logs', 'output.log'),
    python: PYTHON,
    ...over,
  };
}

/** Command lines of live processes containing `marker` (zombies show as `[name] <defunct>` and do not match). */
function processesWith(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo'));
}
async function waitGone(marker: string, ms = 3000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesWith(marker);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}
const uniqueSleep = () => `300.${process.pid}${Math.floor(Math.random() * 1e6)}`;
/** A script that starts a grandchild `sleep <marker>`, says so, then waits forever. */
const spawnsGrandchild = (marker: string) =>
  `import subprocess, time\nsubprocess.Popen(["sleep", "${marker}"])\nprint("spawned", flush=True)\ntime.sleep(300)\n`;

describe('runExecution', () => {
  it('ok: exit 0, stdout and stderr captured in the log, plausible wall time', async () => {
    const s = spec(
      'import sys, time\nprint("hello")\nprint("to stderr", file=sys.stderr)\ntime.sleep(0.3)\nprint("bye")\n',
    );
    const r = await runExecution(s);
    expect(r.outcome).toBe('ok');
    expect(r.exitCode).toBe(0);
    expect(r.wallMs).toBeGreaterThanOrEqual(300);
    expect(r.wallMs).toBeLessThan(15_000);
    const log = readFileSync(s.logPath, 'utf8');
    expect(log).toContain('hello\n');
    expect(log).toContain('to stderr\n');
    expect(log).toContain('bye\n');
  });

  it('runs in cwd with the given argv', async () => {
    const s = spec('import os, sys\nprint("cwd=" + os.getcwd())\nprint("args=" + ",".join(sys.argv[1:]))\n', {});
    s.argv = [...s.argv, '--config', 'tiny'];
    const r = await runExecution(s);
    expect(r.outcome).toBe('ok');
    const log = readFileSync(s.logPath, 'utf8');
    expect(log).toContain(`cwd=${dir}\n`);
    expect(log).toContain('args=--config,tiny\n');
  });

  it('a non-zero exit is failed with its exit code; a signal death is 128+signal', async () => {
    const r = await runExecution(spec('import sys\nprint("about to fail")\nsys.exit(3)\n'));
    expect(r).toMatchObject({ outcome: 'failed', exitCode: 3 });
    const crash = await runExecution(spec('raise RuntimeError("boom")\n'));
    expect(crash).toMatchObject({ outcome: 'failed', exitCode: 1 });
    expect(readFileSync(join(dir, 'logs', 'output.log'), 'utf8')).toContain('RuntimeError: boom');
    const killed = await runExecution(spec('import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n'));
    expect(killed).toMatchObject({ outcome: 'failed', exitCode: 128 + 15 });
  });

  it('a timeout kills the whole process group, grandchildren included', async () => {
    const marker = uniqueSleep();
    const lines: string[] = [];
    const started = Date.now();
    const r = await runExecution(spec(spawnsGrandchild(marker), { timeoutMs: 2500, onLine: (l) => lines.push(l) }));
    expect(lines).toContain('spawned');
    expect(r.outcome).toBe('timeout');
    expect(r.wallMs).toBeGreaterThanOrEqual(2400);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await waitGone(marker)).toEqual([]);
  });

  it('the grandchild really was running while the execution was (the ps check can see it)', async () => {
    const marker = uniqueSleep();
    const ac = new AbortController();
    let seen: string[] = [];
    const look = async () => {
      const deadline = Date.now() + 5000;
      while ((seen = processesWith(marker)).length === 0 && Date.now() < deadline) await sleep(50);
      ac.abort();
    };
    const r = await runExecution(
      spec(spawnsGrandchild(marker), { signal: ac.signal, onLine: (l) => void (l === 'spawned' && look()) }),
    );
    if (seen.length === 0) console.error(execFileSync('ps', ['-eo', 'pid,pgid,stat,args'], { encoding: 'utf8' }));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toContain(`sleep ${marker}`);
    expect(r.outcome).toBe('cancelled');
    expect(await waitGone(marker)).toEqual([]);
  });

  it('an abort signal cancels and kills the group', async () => {
    const marker = uniqueSleep();
    const ac = new AbortController();
    const started = Date.now();
    const r = await runExecution(
      spec(spawnsGrandchild(marker), { signal: ac.signal, onLine: (l) => l === 'spawned' && ac.abort() }),
    );
    expect(r.outcome).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await waitGone(marker)).toEqual([]);
  });

  it('an already-aborted signal cancels at once', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await runExecution(spec('import time\ntime.sleep(300)\n', { signal: ac.signal }));
    expect(r.outcome).toBe('cancelled');
    expect(r.wallMs).toBeLessThan(10_000);
  });

  it('the environment is exactly the one passed: nothing of the worker leaks in', async () => {
    expect(process.env.SR_TEST_SECRET).toBe('leak-me-not-4711');
    const env = { ...baseEnv(), MY_VAR: 'x y z', EMPTY: '' };
    const s = spec('import json, os\nprint("ENV=" + json.dumps(dict(os.environ)))\n', { env });
    expect((await runExecution(s)).outcome).toBe('ok');
    const line = readFileSync(s.logPath, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('ENV='))!;
    expect(JSON.parse(line.slice(4))).toEqual(env);
    expect(readFileSync(s.logPath, 'utf8')).not.toContain('leak-me-not-4711');
  });

  it('onLine gets every line in order, the last one even without a trailing newline', async () => {
    const lines: string[] = [];
    const code = 'import sys\nfor i in range(200):\n    print(f"line {i}")\nsys.stdout.write("tail-without-newline")\n';
    const r = await runExecution(spec(code, { onLine: (l) => lines.push(l) }));
    expect(r.outcome).toBe('ok');
    expect(lines).toEqual([...Array.from({ length: 200 }, (_, i) => `line ${i}`), 'tail-without-newline']);
  });
});

describe('GpuSlots', () => {
  it('hands out disjoint sets and takes them back', async () => {
    const slots = new GpuSlots(['0', '1', '2', '3']);
    const a = await slots.acquire(2);
    const b = await slots.acquire(2);
    expect(a).toEqual(['0', '1']);
    expect(b).toEqual(['2', '3']);
    slots.release(b);
    slots.release(a);
    expect(await slots.acquire(3)).toEqual(['0', '1', '2']); // freed ids come back in device order
    expect(await slots.acquire(0)).toEqual([]);
    expect(slots.capacityFor(2)).toBe(2);
    expect(slots.capacityFor(3)).toBe(1);
    expect(slots.capacityFor(0)).toBe(Infinity);
  });

  it('waiters are served first in, first out, and a small request does not jump the queue', async () => {
    const slots = new GpuSlots(['0', '1', '2', '3']);
    const held = await slots.acquire(3);
    const order: string[] = [];
    const big = slots.acquire(2).then((ids) => (order.push('big'), ids));
    const small = slots.acquire(1).then((ids) => (order.push('small'), ids));
    await sleep(20);
    expect(order).toEqual([]); // one GPU is free, but `small` waits behind `big`
    slots.release(held);
    const [bigIds, smallIds] = await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
    expect(bigIds).toEqual(['0', '1']);
    expect(smallIds).toEqual(['2']);
  });

  it('never over-subscribes under concurrent holders', async () => {
    const slots = new GpuSlots(['0', '1', '2', '3']);
    const inUse = new Set<string>();
    let holding = 0;
    let maxHolding = 0;
    const got: string[][] = [];
    const worker = async (i: number) => {
      for (let round = 0; round < 3; round++) {
        const ids = await slots.acquire(2);
        expect(ids).toHaveLength(2);
        for (const id of ids) {
          expect(inUse.has(id), `device ${id} handed out twice`).toBe(false);
          inUse.add(id);
        }
        holding++;
        maxHolding = Math.max(maxHolding, holding);
        got.push(ids);
        await sleep(5 + ((i * 7 + round * 3) % 11));
        holding--;
        for (const id of ids) inUse.delete(id);
        slots.release(ids);
      }
    };
    await Promise.all([0, 1, 2, 3, 4].map(worker));
    expect(maxHolding).toBe(2);
    expect(got).toHaveLength(15);
    expect(inUse.size).toBe(0);
    expect(await slots.acquire(4)).toEqual(['0', '1', '2', '3']);
  });

  it('asking for more GPUs than exist throws instead of waiting forever', async () => {
    await expect(new GpuSlots(['0', '1']).acquire(3)).rejects.toThrow(
      'this GPU worker has 2 GPU(s) (0,1); the task needs 3',
    );
    await expect(new GpuSlots([]).acquire(1)).rejects.toThrow('this GPU worker has 0 GPU(s) (none); the task needs 1');
    expect(await new GpuSlots([]).acquire(0)).toEqual([]);
  });
});

const task = (over: Partial<TaskInput> = {}) =>
  taskSchema.parse({
    id: 't',
    description: 'd',
    workspace_template: 'w',
    fnames: ['train.py'],
    entry_fname: 'train.py',
    timeout_s: 30,
    selection_metric: 'score',
    ...over,
  });

describe('commandFor / executionEnv', () => {
  it('python launcher: python <entry> <args>', () => {
    expect(commandFor(task({ args: ['--a', '1'] }), '/py/bin/python', 0)).toEqual([
      '/py/bin/python',
      'train.py',
      '--a',
      '1',
    ]);
  });

  it('torchrun launcher: python -m torch.distributed.run --standalone --nproc_per_node=G <entry> <args>', () => {
    const t = task({ launcher: 'torchrun', args: ['--config', 'full'] });
    expect(commandFor(t, '/py/bin/python', 8)).toEqual([
      '/py/bin/python',
      '-m',
      'torch.distributed.run',
      '--standalone',
      '--nproc_per_node=8',
      'train.py',
      '--config',
      'full',
    ]);
    expect(commandFor(t, '/py/bin/python', 0)).toContain('--nproc_per_node=1');
  });

  it('the environment is built from nothing: devices, data config, task env, no worker variables', () => {
    process.env.OPENAI_API_KEY_FOR_TEST = 'sk-should-not-leak';
    try {
      const env = executionEnv(
        task({ env: { FOO: 'bar', N: 3, FLAG: true } }),
        { train_files: '/data/train_*.bin', val_files: '/data/val_*.bin', val_tokens: 1234 },
        '/venv/bin/python',
        '/scratch/ws',
        ['2', '3'],
      );
      expect(env).toEqual({
        PATH: '/venv/bin:/usr/local/bin:/usr/bin:/bin',
        HOME: '/scratch/ws',
        TMPDIR: '/scratch/ws/.tmp',
        LANG: 'C.UTF-8',
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
        CUDA_VISIBLE_DEVICES: '2,3',
        NANOGPT_TRAIN_FILES: '/data/train_*.bin',
        NANOGPT_VAL_FILES: '/data/val_*.bin',
        NANOGPT_VAL_TOKENS: '1234',
        FOO: 'bar',
        N: '3',
        FLAG: 'true',
      });
      const values = Object.values(env).join('\n');
      expect(values).not.toContain('leak-me-not-4711');
      expect(values).not.toContain('sk-should-not-leak');
      const noData = executionEnv(task(), { val_tokens: 10 }, '/venv/bin/python', '/s', []);
      expect(noData.CUDA_VISIBLE_DEVICES).toBe('');
      expect('NANOGPT_TRAIN_FILES' in noData).toBe(false);
      expect('NANOGPT_VAL_FILES' in noData).toBe(false);
      expect(noData.NANOGPT_VAL_TOKENS).toBe('10');
    } finally {
      delete process.env.OPENAI_API_KEY_FOR_TEST;
    }
  });

  it('taskPython: the worker python by default, a named interpreter or venv prefix, else an error', () => {
    expect(taskPython(task())).toBe(PYTHON);
    expect(taskPython(task({ environment: PYTHON }))).toBe(PYTHON);
    if (PYTHON.startsWith(ROOT))
      expect(taskPython(task({ environment: join(ROOT, '.venv') }))).toBe(join(ROOT, '.venv', 'bin', 'python'));
    expect(() => taskPython(task({ environment: join(dir, 'no-such-env') }))).toThrow(
      /names environment .*no-such-env, which has no python/,
    );
  });
});

describe('executeVersion', () => {
  it('materializes the snapshot in scratch, runs it with the built env, stores the log, cleans up', async () => {
    const saved = process.env.SPEEDRUNNER_SCRATCH;
    process.env.SPEEDRUNNER_SCRATCH = join(dir, 'scratch');
    try {
      const store = new ArtifactStore(join(dir, 'store'));
      const code = [
        'import json, os, sys',
        'print("files=" + ",".join(sorted(os.listdir("."))))',
        'print("ENV=" + json.dumps(dict(os.environ)))',
        'print("args=" + ",".join(sys.argv[1:]))',
        'print("score: 1.5")',
      ].join('\n');
      const snapshot = await store.putSnapshot({ 'train.py': code, 'lib/helper.py': 'X = 1\n' });
      const t = task({ args: ['--x'], env: { MODE: 'test' } });
      const lines: string[] = [];
      const r = await executeVersion(
        store,
        { runId: 'run/1', nodeId: 7, snapshot, task: t, data: { val_tokens: 99 } },
        [],
        {
          onLine: (l) => lines.push(l),
        },
      );
      expect(r.outcome).toBe('ok');
      const log = await store.getText(r.logRef);
      expect(log).toContain('files=.tmp,lib,train.py');
      expect(log).toContain('args=--x');
      expect(lines).toContain('score: 1.5');
      const env = JSON.parse(
        log
          .split('\n')
          .find((l) => l.startsWith('ENV='))!
          .slice(4),
      );
      const workdir = join(scratchDir('run/1', 7), 'workspace');
      expect(scratchDir('run/1', 7)).toBe(join(dir, 'scratch', 'run_1', 'v_7'));
      // Exactly the built environment, plus the tiktoken cache every execution gets.
      expect(env).toEqual({
        ...executionEnv(t, { val_tokens: 99 }, PYTHON, workdir, []),
        TIKTOKEN_CACHE_DIR: join(homeDir(), 'tiktoken-cache'),
      });
      expect(env.MODE).toBe('test');
      expect(log).not.toContain('leak-me-not-4711');
      expect(existsSync(scratchDir('run/1', 7))).toBe(false);
      expect(r.dataChanged).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.SPEEDRUNNER_SCRATCH;
      else process.env.SPEEDRUNNER_SCRATCH = saved;
    }
  });
});

describe('executeVersion data guard', () => {
  it('reports data files the execution rewrote, and only those', async () => {
    const saved = process.env.SPEEDRUNNER_SCRATCH;
    process.env.SPEEDRUNNER_SCRATCH = join(dir, 'scratch');
    // The guard is for hosts without the sandbox (which makes task data read-only): test it there.
    const sandbox = { ...sandboxSettings({}), mode: 'off' as const };
    try {
      const data = join(dir, 'data');
      for (const f of ['train_0.bin', 'train_1.bin', 'val_0.bin']) {
        mkdirSync(data, { recursive: true });
        writeFileSync(join(data, f), 'tokens');
      }
      const store = new ArtifactStore(join(dir, 'store'));
      const code = 'import os\nwith open(os.environ["TARGET"], "a") as f:\n    f.write("more")\nprint("score: 1")\n';
      const snapshot = await store.putSnapshot({ 'train.py': code });
      const input = (target: string) => ({
        runId: 'r',
        nodeId: 1,
        snapshot,
        task: task({ env: { TARGET: target } }),
        data: { train_files: join(data, 'train_*.bin'), val_files: join(data, 'val_*.bin'), val_tokens: 1 },
      });
      const changed = await executeVersion(store, input(join(data, 'train_1.bin')), [], { sandbox });
      expect(changed.outcome).toBe('ok');
      expect(changed.dataChanged).toEqual([join(data, 'train_1.bin')]);
      const clean = await executeVersion(store, input(join(dir, 'elsewhere.txt')), [], { sandbox });
      expect(clean.outcome).toBe('ok');
      expect(clean.dataChanged).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.SPEEDRUNNER_SCRATCH;
      else process.env.SPEEDRUNNER_SCRATCH = saved;
    }
  });
});

describe('executeVersion sandbox', () => {
  it("the settings it is handed (the GPU worker's) rule training and eval alike, over the environment's", async () => {
    const savedSandbox = process.env.SPEEDRUNNER_SANDBOX;
    process.env.SPEEDRUNNER_SANDBOX = 'strict'; // what this process would use were nothing handed in
    try {
      const store = new ArtifactStore(join(dir, 'store'));
      const snapshot = await store.putSnapshot({
        'train.py': 'print("score: 1")\n',
        'eval.py': 'print("evaluated")\n',
      });
      const t = task({ eval: { args: ['python', 'eval.py'], timeout_s: 20 } });
      const r = await executeVersion(
        store,
        { runId: 'sandbox-deps', nodeId: 1, snapshot, task: t, data: { val_tokens: 1 } },
        [],
        {
          sandbox: { ...sandboxSettings({}), mode: 'off' },
        },
      );
      expect(r.outcome).toBe('ok');
      expect(r.eval?.outcome).toBe('ok');
      expect(await store.getText(r.logRef)).toMatch(/^\[speedrunner\] sandbox off/);
      expect(await store.getText(r.eval!.logRef)).toMatch(/^\[speedrunner\] sandbox off[^\n]*\nevaluated\n/);
    } finally {
      if (savedSandbox === undefined) delete process.env.SPEEDRUNNER_SANDBOX;
      else process.env.SPEEDRUNNER_SANDBOX = savedSandbox;
    }
  });
});

/** A script that tries to write `gib` GiB to stdout, 1 MiB at a time, with or without newlines. */
const flood = (gib: number, newlines: boolean) =>
  [
    'import sys, time',
    `block = ${newlines ? '(b"x" * 99 + b"\\n") * 10486' : 'b"y" * 1048576'}`,
    'print(f"flood starts {time.time()}", flush=True)',
    'out = sys.stdout.buffer',
    `for _ in range(${gib * 1024}):`,
    '    out.write(block)',
    'out.flush()',
    'print("flood done", flush=True)',
  ].join('\n');

describe('bounded output', () => {
  const CAP = 8 * MIB;
  for (const newlines of [true, false]) {
    it(`2 GiB ${newlines ? 'with' : 'without'} newlines: stopped a moment past the cap, head and tail kept`, async () => {
      const lines: string[] = [];
      const s = spec(flood(2, newlines), { maxOutputBytes: CAP, onLine: (l) => lines.length < 5 && lines.push(l) });
      const r = await runExecution(s);
      const stoppedAt = Date.now() / 1000;
      expect(r.outcome).toBe('output_limit');
      const size = statSync(s.logPath).size;
      expect(size).toBeGreaterThan(CAP - 1024);
      expect(size).toBeLessThan(CAP + 1024);
      const head = readFileSync(s.logPath).subarray(0, 200).toString();
      const floodStart = Number(/flood starts ([\d.]+)/.exec(head)![1]);
      // From the flood's first byte to the execution stopped: a few seconds at most (python writes GB/s).
      expect(stoppedAt - floodStart).toBeLessThan(5);
      const text = readFileSync(s.logPath, 'latin1');
      expect(text).toMatch(
        /\n\[speedrunner: output limit \(8 MiB\): \d+ bytes cut here; the first 4194304 and the last 4194304 bytes are kept\]\n/,
      );
      expect(text).not.toContain('flood done');
      expect(lines[0]).toMatch(/^flood starts/);
      if (!newlines) expect(lines[1].length).toBe(64 * 1024); // the endless line, cut
    });
  }

  it('100 MB without a newline under the cap: processed in well under a few seconds, one cut line', async () => {
    const lines: string[] = [];
    const code = 'import sys\nsys.stdout.buffer.write(b"z" * 100_000_000)\nsys.stdout.buffer.write(b"\\nend\\n")\n';
    const s = spec(code, { maxOutputBytes: 256 * MIB, onLine: (l) => lines.push(l) });
    const r = await runExecution(s);
    expect(r.outcome).toBe('ok');
    expect(r.wallMs).toBeLessThan(4000);
    expect(lines.map((l) => l.length)).toEqual([64 * 1024, 3]);
    expect(statSync(s.logPath).size).toBe(100_000_005);
  });
});

describe('redaction of worker secrets', () => {
  it('a key the script found (in a file) is [redacted] in the log and in lines, also split across writes', async () => {
    const key = `sk-fake-${'0123456789'.repeat(3)}-redact-me`;
    const saved = process.env.SR_TEST_API_KEY;
    process.env.SR_TEST_API_KEY = key; // a secret this worker holds
    try {
      writeFileSync(join(dir, 'found.txt'), key);
      const code = [
        'import sys, time',
        'key = open("found.txt").read()',
        'print("whole:", key, flush=True)',
        'for i in range(0, len(key), 7):',
        '    sys.stdout.write(key[i:i + 7]); sys.stdout.flush(); time.sleep(0.05)',
        'print(" <- in pieces", flush=True)',
        'print("stderr", key, file=sys.stderr, flush=True)',
      ].join('\n');
      const lines: string[] = [];
      const s = spec(code, { onLine: (l) => lines.push(l) });
      expect((await runExecution(s)).outcome).toBe('ok');
      const log = readFileSync(s.logPath, 'utf8');
      expect(log).not.toContain(key);
      expect(log).not.toContain(key.slice(0, 20));
      expect(log).toContain('whole: [redacted]\n');
      expect(log).toContain('[redacted] <- in pieces\n');
      expect(log).toContain('stderr [redacted]\n');
      expect(lines.join('\n')).not.toContain(key.slice(0, 20));
    } finally {
      if (saved === undefined) delete process.env.SR_TEST_API_KEY;
      else process.env.SR_TEST_API_KEY = saved;
    }
  });
});

describe('executeVersion: output limit, harness clock, result cache', () => {
  let savedScratch: string | undefined;
  beforeEach(() => {
    savedScratch = process.env.SPEEDRUNNER_SCRATCH;
    process.env.SPEEDRUNNER_SCRATCH = join(dir, 'scratch');
  });
  afterEach(() => {
    if (savedScratch === undefined) delete process.env.SPEEDRUNNER_SCRATCH;
    else process.env.SPEEDRUNNER_SCRATCH = savedScratch;
  });

  it('a flood is one crashed version with reason "output limit (8 MiB)": a result, a bounded stored log, scratch cleaned', async () => {
    const store = new ArtifactStore(join(dir, 'store'));
    const snapshot = await store.putSnapshot({ 'train.py': flood(2, false) });
    const t = task({ max_output_mb: 8, eval: { args: ['python', '-c', 'print("eval ran")'] } });
    const r = await executeVersion(
      store,
      { runId: 'flood', nodeId: 3, snapshot, task: t, data: { val_tokens: 1 } },
      [],
    );
    expect(r.outcome).toBe('output_limit');
    expect(r.eval).toBeUndefined();
    expect(existsSync(scratchDir('flood', 3))).toBe(false);
    const log = await store.getBlob(r.logRef);
    expect(log.length).toBeLessThan(8 * MIB + 1024);
    expect(judgeExecution(t, r, {}, '')).toEqual({ status: 'crashed', valid: false, reason: 'output limit (8 MiB)' });
    expect(r.clock?.lines).toBe(2); // the first line and the endless one
  });

  it('speedrun lines are stamped on the harness clock as they arrive; the clock survives the result cache', async () => {
    const store = new ArtifactStore(join(dir, 'store'));
    const code = [
      'import time',
      'print("step:0/6 val_loss:10.8 train_time:0ms step_avg:nanms", flush=True)',
      'for s in range(1, 7):',
      '    time.sleep(0.2)',
      '    print(f"step:{s}/6 train_time:{s * 200}ms step_avg:200ms", flush=True)',
      '    if s % 3 == 0: print(f"step:{s}/6 val_loss:{4 - s / 6:.4f} train_time:{s * 200}ms step_avg:200ms", flush=True)',
      'print("done")',
    ].join('\n');
    const snapshot = await store.putSnapshot({ 'train.py': code });
    const input = {
      runId: 'clock',
      nodeId: 1,
      snapshot,
      task: task({ metric_parser: 'speedrun', selection_metric: 'train_time' }),
      data: { val_tokens: 1 },
    };
    const r = await executeVersion(store, input, []);
    expect(r.outcome).toBe('ok');
    const clock = r.clock!;
    expect(clock.steps.map(([s]) => s)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(clock.vals.map(([s]) => s)).toEqual([0, 3, 6]);
    expect(clock.lines).toBe(10);
    const times = clock.steps.map(([, at]) => at);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(150); // the 0.2 s sleeps, seen by us
    expect(times[5] - clock.vals[0][1]).toBeGreaterThanOrEqual(1100);
    expect(clock.firstOutputMs).toBe(clock.vals[0][1]);
    expect(clock.lastOutputMs).toBeGreaterThanOrEqual(times[5]);
    expect(clock.lastOutputMs).toBeLessThanOrEqual(r.wallMs);
    const key = executionKey(input);
    await saveExecution(store, key, r);
    expect(await cachedExecution(store, key)).toEqual(r);
  });
});
