import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunConfig } from '../config/schema';
import type { TaskConfig } from '../config/task';
import { ensureTiktokenCacheDir } from '../data/tiktoken-env';
import { homeDir } from '../paths';
import type { ArtifactStore } from '../store/artifact-store';
import { executionEnv } from './execution-env';
import { MIB } from './capped-log';
import type { ExecutionResult } from './result';
import { runExecution } from './run-execution';
import type { SandboxSettings } from './sandbox';

export interface EvalPlace {
  /** The version's materialized workspace, where training left what it wrote. */
  workdir: string;
  /** The execution's scratch dir: the eval log is written here before it is stored. */
  scratch: string;
  python: string;
  devices: string[];
  /** The same sandbox as the training run. */
  sandbox?: SandboxSettings;
  signal?: AbortSignal;
}

/** The eval command's argv: a leading `python` is the task's own interpreter. */
export function evalCommand(args: string[], python: string): string[] {
  return args[0] === 'python' ? [python, ...args.slice(1)] : args;
}

/**
 * Runs the task's `eval` command after a successful execution: same workspace, same clean
 * environment (no worker secret reaches it), its own timeout and its own log (stored apart from the
 * training log).
 */
export async function runEval(
  store: ArtifactStore,
  task: TaskConfig,
  data: RunConfig['data'],
  place: EvalPlace,
): Promise<ExecutionResult['eval']> {
  if (!task.eval) return undefined;
  const logPath = join(place.scratch, 'eval.log');
  const result = await runExecution({
    argv: evalCommand(task.eval.args, place.python),
    cwd: place.workdir,
    env: {
      TIKTOKEN_CACHE_DIR: await ensureTiktokenCacheDir(homeDir()),
      ...executionEnv(task, data, place.python, place.workdir, place.devices),
    },
    timeoutMs: task.eval.timeout_s * 1000,
    maxOutputBytes: task.max_output_mb * MIB,
    logPath,
    python: place.python,
    sandbox: place.sandbox,
    signal: place.signal,
  });
  return { ...result, logRef: await store.putBlob(await readFile(logPath)) };
}
