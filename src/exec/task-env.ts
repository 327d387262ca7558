import { execa } from 'execa';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskConfig } from '../config/task';
import { listGroup, loadTask } from '../config/load';
import { defaultPython } from '../paths';

/** The Python a task runs with: its named environment (a venv prefix or an interpreter), else the worker's. */
export function taskPython(task: Pick<TaskConfig, 'id' | 'environment'>): string {
  if (!task.environment) return defaultPython();
  const env = task.environment;
  const python = existsSync(env) && statSync(env).isFile() ? env : join(env, 'bin', 'python');
  if (!existsSync(python))
    throw new Error(`task '${task.id}' names environment ${env}, which has no python on this host`);
  return python;
}

/** What one Python environment offers, as found by running it. */
export interface EnvironmentProbe {
  python: string;
  /** e.g. `3.11.9`; absent when the interpreter did not run. */
  pythonVersion?: string;
  /** torch.__version__, when `import torch` works. */
  torch?: string;
  /** Devices torch sees (0 on a CPU-only build or host). */
  cudaDevices?: number;
  /** Why the interpreter or `import torch` failed. */
  error?: string;
}

const lastLine = (text: string) => text.trim().split('\n').slice(-1)[0];

const PROBE = (torch: boolean) =>
  [
    'import json, platform',
    'out = {"python": platform.python_version()}',
    ...(torch
      ? [
          'try:',
          '    import torch',
          '    out["torch"] = torch.__version__',
          '    out["cuda"] = torch.cuda.device_count()',
          'except Exception as e:',
          '    out["error"] = f"import torch failed: {type(e).__name__}: {e}"',
        ]
      : []),
    'print(json.dumps(out))',
  ].join('\n');

/** Runs the interpreter once: its version and, with `torch`, whether `import torch` works (and which torch). */
export async function probeEnvironment(
  python: string,
  opts: { torch?: boolean; timeoutMs?: number } = {},
): Promise<EnvironmentProbe> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const res = await execa(python, ['-c', PROBE(opts.torch ?? true)], {
    reject: false,
    timeout: timeoutMs,
    env: { PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (res.exitCode !== 0) {
    const why = res.timedOut
      ? `timed out after ${timeoutMs / 1000} s`
      : lastLine(String(res.stderr ?? '') || (res.shortMessage ?? `exit code ${res.exitCode}`));
    return { python, error: `${python} does not run: ${why}` };
  }
  try {
    const out = JSON.parse(lastLine(res.stdout)) as { python: string; torch?: string; cuda?: number; error?: string };
    return { python, pythonVersion: out.python, torch: out.torch, cudaDevices: out.cuda, error: out.error };
  } catch {
    return { python, error: `${python} printed no probe result: ${res.stdout.slice(0, 200)}` };
  }
}

/** Whether this host can run a task, and why not. */
export interface TaskReadiness {
  task: string;
  ok: boolean;
  python?: string;
  pythonVersion?: string;
  torch?: string;
  /** Whether the task needs torch (torchrun or GPUs); torch is only probed for those. */
  torchNeeded: boolean;
  gpusNeeded: number;
  gpusHere: number;
  /** Set when `ok` is false: what is missing, in words an operator can act on. */
  reason?: string;
  /** Worth knowing, not blocking (e.g. torch sees fewer CUDA devices than the worker was given). */
  note?: string;
}

/** Tasks launched with torchrun or given GPUs need torch; a plain Python task does not. */
export const needsTorch = (task: Pick<TaskConfig, 'launcher' | 'gpus_per_execution'>) =>
  task.launcher === 'torchrun' || task.gpus_per_execution > 0;

/**
 * Checks tasks against this host: the environment resolves to a python that runs, torch imports where
 * the task needs it, and the worker owns enough GPUs. Probes are shared per interpreter; a probe that
 * succeeded is kept for the life of the process, a failed one is tried again next time.
 */
export class TaskEnvironments {
  private probes = new Map<string, Promise<EnvironmentProbe>>();

  constructor(readonly devices: string[]) {}

  /** Importing torch takes seconds: only tasks that need it pay for it. */
  probe(python: string, torch: boolean): Promise<EnvironmentProbe> {
    const key = `${torch ? 'torch' : 'python'} ${python}`;
    const known = this.probes.get(key);
    if (known) return known;
    const probing = probeEnvironment(python, { torch });
    this.probes.set(key, probing);
    void probing.then((r) => r.error && this.probes.get(key) === probing && this.probes.delete(key));
    return probing;
  }

  async check(
    task: Pick<TaskConfig, 'id' | 'environment' | 'launcher' | 'gpus_per_execution'>,
  ): Promise<TaskReadiness> {
    const base = {
      task: task.id,
      torchNeeded: needsTorch(task),
      gpusNeeded: task.gpus_per_execution,
      gpusHere: this.devices.length,
    };
    if (task.gpus_per_execution > this.devices.length) {
      const here = this.devices.length
        ? `${this.devices.length} (${this.devices.join(',')})`
        : 'none (started with --gpus none)';
      return {
        ...base,
        ok: false,
        reason: `needs ${task.gpus_per_execution} GPU(s) per execution; this worker has ${here}`,
      };
    }
    let python: string;
    try {
      python = taskPython(task);
    } catch (err) {
      return { ...base, ok: false, reason: (err as Error).message };
    }
    const probe = await this.probe(python, base.torchNeeded);
    const found = { python, pythonVersion: probe.pythonVersion, torch: probe.torch };
    if (!probe.pythonVersion) return { ...base, ...found, ok: false, reason: probe.error };
    if (base.torchNeeded && !probe.torch)
      return {
        ...base,
        ...found,
        ok: false,
        reason: `${probe.error} (the task needs torch: it uses ${task.launcher === 'torchrun' ? 'torchrun' : 'GPUs'})`,
      };
    const note =
      task.gpus_per_execution > 0 && probe.torch && (probe.cudaDevices ?? 0) < this.devices.length
        ? `torch sees ${probe.cudaDevices ?? 0} CUDA device(s), fewer than the ${this.devices.length} this worker was given`
        : undefined;
    return { ...base, ...found, ok: true, ...(note ? { note } : {}) };
  }
}

/** One line per task for `worker gpu --check` and the worker's start-up report. */
export function describeReadiness(r: TaskReadiness): string {
  const torch = r.torch ? `torch ${r.torch}` : r.torchNeeded ? undefined : r.pythonVersion && 'torch not needed';
  const env = [r.python, r.pythonVersion && `Python ${r.pythonVersion}`, torch].filter(Boolean).join(', ');
  const gpus = `${r.gpusNeeded} GPU(s)/execution, ${r.gpusHere} here`;
  return `${r.ok ? 'ok  ' : 'NO  '} ${r.task} — ${gpus}${env ? `; ${env}` : ''}${r.reason ? `; ${r.reason}` : ''}${r.note ? `; note: ${r.note}` : ''}`;
}

/** Every known task (built-in, imported, SPEEDRUNNER_TASK_PATH) checked against this host; a task file that does not load is a "no". */
export async function checkAllTasks(envs: TaskEnvironments): Promise<TaskReadiness[]> {
  return Promise.all(
    listGroup('task').map(async (entry) => {
      try {
        return await envs.check(loadTask(entry.id));
      } catch (err) {
        return {
          task: entry.id,
          ok: false,
          torchNeeded: false,
          gpusNeeded: 0,
          gpusHere: envs.devices.length,
          reason: `task file ${entry.file} does not load: ${(err as Error).message.split('\n')[0]}`,
        };
      }
    }),
  );
}
