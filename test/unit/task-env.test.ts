import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { defaultPython, ROOT } from '../../src/paths';
import { taskSchema, type TaskInput } from '../../src/config/task';
import {
  checkAllTasks,
  describeReadiness,
  probeEnvironment,
  taskPython,
  TaskEnvironments,
} from '../../src/exec/task-env';
import { FIXTURE_TASKS } from '../helpers/harness';

const PYTHON = defaultPython();
let dir: string;
/** A venv-like prefix whose python runs, but where `import torch` fails. */
let noTorchEnv: string;
/** A prefix whose python exits at once with an error. */
let brokenEnv: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-task-env-'));
  const shadow = join(dir, 'shadow');
  mkdirSync(shadow);
  writeFileSync(join(shadow, 'torch.py'), 'raise ImportError("torch is not installed in this environment")\n');
  noTorchEnv = join(dir, 'no-torch');
  mkdirSync(join(noTorchEnv, 'bin'), { recursive: true });
  writeFileSync(join(noTorchEnv, 'bin', 'python'), `#!/bin/sh\nPYTHONPATH=${shadow} exec ${PYTHON} "$@"\n`);
  chmodSync(join(noTorchEnv, 'bin', 'python'), 0o755);
  brokenEnv = join(dir, 'broken');
  mkdirSync(join(brokenEnv, 'bin'), { recursive: true });
  writeFileSync(
    join(brokenEnv, 'bin', 'python'),
    '#!/bin/sh\necho "error while loading shared libraries: libpython3.11.so" >&2\nexit 127\n',
  );
  chmodSync(join(brokenEnv, 'bin', 'python'), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const task = (over: Partial<TaskInput> = {}) =>
  taskSchema.parse({
    id: 't',
    description: 'd',
    workspace_template: 'w',
    fnames: ['a.py'],
    entry_fname: 'a.py',
    timeout_s: 5,
    selection_metric: 'harness_wall_ms',
    ...over,
  });

describe('taskPython', () => {
  it('the worker python by default, a named interpreter or venv prefix, else an error naming the task', () => {
    expect(taskPython(task())).toBe(PYTHON);
    expect(taskPython(task({ environment: PYTHON }))).toBe(PYTHON);
    expect(taskPython(task({ environment: noTorchEnv }))).toBe(join(noTorchEnv, 'bin', 'python'));
    expect(() => taskPython(task({ id: 'x', environment: join(dir, 'no-such-env') }))).toThrow(
      `task 'x' names environment ${join(dir, 'no-such-env')}, which has no python on this host`,
    );
  });
});

describe('probeEnvironment', () => {
  it('reads the python and torch versions by running the interpreter', async () => {
    const p = await probeEnvironment(PYTHON);
    expect(p.pythonVersion).toMatch(/^3\.\d+\.\d+$/);
    expect(p.torch).toMatch(/^\d+\.\d+/);
    expect(p.cudaDevices).toBe(0); // the CPU build of torch on this machine
    expect(p.error).toBeUndefined();
    const plain = await probeEnvironment(PYTHON, { torch: false });
    expect(plain).toEqual({
      python: PYTHON,
      pythonVersion: p.pythonVersion,
      torch: undefined,
      cudaDevices: undefined,
      error: undefined,
    });
  });

  it('says why an environment without torch, or a python that does not run, is unusable', async () => {
    const p = await probeEnvironment(join(noTorchEnv, 'bin', 'python'));
    expect(p.pythonVersion).toMatch(/^3\./);
    expect(p.torch).toBeUndefined();
    expect(p.error).toBe('import torch failed: ImportError: torch is not installed in this environment');
    const b = await probeEnvironment(join(brokenEnv, 'bin', 'python'));
    expect(b.pythonVersion).toBeUndefined();
    expect(b.error).toBe(
      `${join(brokenEnv, 'bin', 'python')} does not run: error while loading shared libraries: libpython3.11.so`,
    );
  });
});

describe('TaskEnvironments.check', () => {
  it('GPU count, environment, python and torch, each with its reason', async () => {
    const envs = new TaskEnvironments(['0', '1']);
    const tooBig = await envs.check(task({ id: 'big', gpus_per_execution: 4 }));
    expect(tooBig).toMatchObject({ ok: false, reason: 'needs 4 GPU(s) per execution; this worker has 2 (0,1)' });
    expect((await new TaskEnvironments([]).check(task({ gpus_per_execution: 1 }))).reason).toBe(
      'needs 1 GPU(s) per execution; this worker has none (started with --gpus none)',
    );

    const missing = await envs.check(task({ id: 'gone', environment: '/opt/envs/none' }));
    expect(missing).toMatchObject({
      ok: false,
      reason: "task 'gone' names environment /opt/envs/none, which has no python on this host",
    });

    const broken = await envs.check(task({ environment: brokenEnv }));
    expect(broken.ok).toBe(false);
    expect(broken.reason).toMatch(/does not run: error while loading shared libraries/);

    // torch matters only to tasks that need it
    const torchrun = await envs.check(task({ id: 'tr', launcher: 'torchrun', environment: noTorchEnv }));
    expect(torchrun).toMatchObject({
      ok: false,
      torchNeeded: true,
      reason:
        'import torch failed: ImportError: torch is not installed in this environment (the task needs torch: it uses torchrun)',
    });
    const plain = await envs.check(task({ id: 'plain', environment: noTorchEnv }));
    expect(plain).toMatchObject({ ok: true, torchNeeded: false, python: join(noTorchEnv, 'bin', 'python') });
    expect(describeReadiness(plain)).toMatch(
      /^ok {3}plain — 0 GPU\(s\)\/execution, 2 here; .*no-torch\/bin\/python, Python 3\.\d+\.\d+, torch not needed$/,
    );

    const gpuTask = await envs.check(task({ id: 'g', gpus_per_execution: 2 }));
    expect(gpuTask).toMatchObject({
      ok: true,
      python: PYTHON,
      note: 'torch sees 0 CUDA device(s), fewer than the 2 this worker was given',
    });
    expect(gpuTask.torch).toMatch(/^\d+\.\d+/);
  });

  it('a failed probe is tried again (the environment may have been fixed); a good one is reused', async () => {
    const envs = new TaskEnvironments([]);
    const first = envs.probe(join(noTorchEnv, 'bin', 'python'), true);
    await first;
    await new Promise((r) => setTimeout(r, 10));
    expect(envs.probe(join(noTorchEnv, 'bin', 'python'), true)).not.toBe(first);
    const good = envs.probe(PYTHON, false);
    await good;
    expect(envs.probe(PYTHON, false)).toBe(good);
  });

  it('checkAllTasks lists every known task, a broken task file as one that cannot run', async () => {
    const saved = process.env.SPEEDRUNNER_TASK_PATH;
    process.env.SPEEDRUNNER_TASK_PATH = FIXTURE_TASKS;
    try {
      const all = await checkAllTasks(new TaskEnvironments([]));
      const byId = Object.fromEntries(all.map((r) => [r.task, r]));
      expect(byId.collatz).toMatchObject({ ok: true });
      expect(byId.counter).toMatchObject({ ok: true });
      expect(byId.nanogpt_baseline).toMatchObject({
        ok: false,
        reason: 'needs 8 GPU(s) per execution; this worker has none (started with --gpus none)',
      });
      expect(byId.broken_yaml.ok).toBe(false);
      expect(byId.broken_yaml.reason).toMatch(/^task file .*broken_yaml\.yaml does not load: malformed YAML/);
    } finally {
      if (saved === undefined) delete process.env.SPEEDRUNNER_TASK_PATH;
      else process.env.SPEEDRUNNER_TASK_PATH = saved;
    }
  });
});

describe('speedrunner worker gpu --check', () => {
  it('prints one line per task and exits 1 when some task cannot run here', async () => {
    const env = { SPEEDRUNNER_HOME: dir, SPEEDRUNNER_TASK_PATH: FIXTURE_TASKS };
    const res = await execa(
      process.execPath,
      [join(ROOT, 'bin', 'speedrunner.js'), 'worker', 'gpu', '--gpus', '0,1', '--check'],
      { env, reject: false, timeout: 120_000 },
    );
    expect(res.exitCode).toBe(1);
    const lines = res.stdout.split('\n');
    expect(lines.find((l) => l.includes(' collatz '))).toMatch(
      /^ok {3}collatz — 0 GPU\(s\)\/execution, 2 here; .*python, Python 3\.\d+\.\d+, torch not needed$/,
    );
    expect(lines.find((l) => l.includes(' nanogpt_baseline '))).toBe(
      'NO   nanogpt_baseline — 8 GPU(s)/execution, 2 here; needs 8 GPU(s) per execution; this worker has 2 (0,1)',
    );
    expect(lines.find((l) => l.includes(' broken_yaml '))).toMatch(
      /^NO {3}broken_yaml — .*does not load: malformed YAML/,
    );

    const json = await execa(
      process.execPath,
      [join(ROOT, 'bin', 'speedrunner.js'), 'worker', 'gpu', '--gpus', '0,1,2,3,4,5,6,7', '--check', '--json'],
      { env: { ...env, SPEEDRUNNER_TASK_PATH: '' }, reject: false, timeout: 120_000 },
    );
    expect(json.exitCode, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as { task: string; ok: boolean; torch?: string; note?: string }[];
    expect(rows.map((r) => [r.task, r.ok])).toEqual([
      ['collatz', true],
      ['nanogpt_baseline', true],
    ]);
    // nanogpt_baseline runs with torchrun: torch was imported and its version reported
    expect(rows[1].torch).toMatch(/^\d+\.\d+/);
    expect(rows[1].note).toBe('torch sees 0 CUDA device(s), fewer than the 8 this worker was given');
  });
});
