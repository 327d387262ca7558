import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { globSync } from 'tinyglobby';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { RunConfig } from '../config/schema';
import type { TaskConfig } from '../config/task';
import { homeDir } from '../paths';
import { ensureTiktokenCacheDir } from '../data/tiktoken-env';
import type { ArtifactStore } from '../store/artifact-store';
import { speedrunLineKind } from '../speedrun/log-parse';
import { MIB } from './capped-log';
import { ClockRecorder, type LineKind } from './clock';
import { executionEnv } from './execution-env';
import type { ExecutionResult } from './result';
import { runExecution } from './run-execution';
import { parseLimitLine, type SandboxSettings } from './sandbox';
import { taskPython } from './task-env';
import { runEval } from './run-eval';

export interface ExecuteInput {
  runId: string;
  nodeId: number;
  snapshot: string;
  task: TaskConfig;
  data: RunConfig['data'];
}

export function commandFor(task: TaskConfig, python: string, gpus: number): string[] {
  if (task.launcher === 'torchrun') {
    return [
      python,
      '-m',
      'torch.distributed.run',
      '--standalone',
      `--nproc_per_node=${Math.max(gpus, 1)}`,
      task.entry_fname,
      ...task.args,
    ];
  }
  return [python, task.entry_fname, ...task.args];
}

export function scratchDir(runId: string, nodeId: number): string {
  return join(
    process.env.SPEEDRUNNER_SCRATCH ?? join(tmpdir(), 'speedrunner-scratch'),
    runId.replace(/[^A-Za-z0-9_.-]/g, '_'),
    `v_${nodeId}`,
  );
}

/** Size and mtime of every data file an execution is given, to notice a script that rewrites them. */
async function dataFingerprint(data: RunConfig['data']): Promise<Map<string, string>> {
  const files = [data.train_files, data.val_files]
    .filter((g): g is string => Boolean(g))
    .flatMap((g) => globSync(g, { absolute: true }));
  const out = new Map<string, string>();
  for (const f of files) {
    const s = await stat(f);
    out.set(f, `${s.size}:${s.mtimeMs}`);
  }
  return out;
}

/** What the task's log parser recognises in a line, for the harness clock (only speedrun logs have steps). */
export function lineKindFor(task: TaskConfig): (line: string) => LineKind {
  return task.metric_parser === 'speedrun' ? speedrunLineKind : () => undefined;
}

export interface ExecuteHooks {
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** The GPU worker's sandbox, for training and eval alike (default: the environment's). */
  sandbox?: SandboxSettings;
}

/** Materializes a version into a fresh scratch dir, runs it, and stores its (capped, redacted) log. */
export async function executeVersion(
  store: ArtifactStore,
  input: ExecuteInput,
  devices: string[],
  hooks: ExecuteHooks = {},
): Promise<ExecutionResult> {
  const scratch = scratchDir(input.runId, input.nodeId);
  try {
    const workdir = join(scratch, 'workspace');
    await store.materialize(input.snapshot, workdir); // from the same snapshot on every attempt
    await mkdir(join(workdir, '.tmp'), { recursive: true });
    const python = taskPython(input.task);
    const logPath = join(scratch, 'output.log');
    const before = await dataFingerprint(input.data);
    const recorder = new ClockRecorder(lineKindFor(input.task));
    let limit: string | undefined;
    const result = await runExecution({
      argv: commandFor(input.task, python, devices.length),
      cwd: workdir,
      // tiktoken would download the GPT-2 encoding at run time; GPU hosts may have no internet.
      env: {
        TIKTOKEN_CACHE_DIR: await ensureTiktokenCacheDir(homeDir()),
        ...executionEnv(input.task, input.data, python, workdir, devices),
      },
      timeoutMs: input.task.timeout_s * 1000,
      maxOutputBytes: input.task.max_output_mb * MIB,
      logPath,
      python,
      sandbox: hooks.sandbox,
      signal: hooks.signal,
      onLine: (line, atMs) => {
        recorder.line(line, atMs);
        const hit = parseLimitLine(line);
        if (hit) limit ??= `${hit.kind}: ${hit.detail}`;
        hooks.onLine?.(line);
      },
    });
    const logRef = await store.putBlob(await readFile(logPath)); // at most about max_output_mb
    // The task's eval command reads what training left in the workspace, so it runs before cleanup.
    const evalRun =
      result.outcome === 'ok'
        ? await runEval(store, input.task, input.data, {
            workdir,
            scratch,
            python,
            devices,
            sandbox: hooks.sandbox,
            signal: hooks.signal,
          })
        : undefined;
    const after = await dataFingerprint(input.data);
    const dataChanged = [...before.keys()].filter((f) => after.get(f) !== before.get(f));
    return {
      ...result,
      logRef,
      clock: recorder.clock(),
      ...(limit ? { limit } : {}),
      ...(dataChanged.length ? { dataChanged } : {}),
      ...(evalRun ? { eval: evalRun } : {}),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true }); // also when it failed: no log or workspace is left behind
  }
}
