// Activities of the GPU worker (task queue `<control queue>-gpu`): training executions.
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { executeVersion, type ExecuteInput } from '../../src/exec/execute-version';
import { WorkerDraining, type GpuSlots } from '../../src/exec/gpu-slots';
import type { TaskEnvironments } from '../../src/exec/task-env';
import type { ExecutionResult } from '../../src/exec/result';
import type { SandboxSettings } from '../../src/exec/sandbox';
import { cachedExecution, executionKey, saveExecution } from '../../src/exec/result-cache';
import { progressFromLine } from '../../src/speedrun/log-parse';
import { heartbeatEveryMs } from './heartbeat';
import { openArtifactStore, type OpenStore } from './open-store';

/** What one GPU worker owns and its executions share. */
export interface GpuDeps {
  /** The device ids it owns (and how many GPU-less executions may run at once). */
  slots: GpuSlots;
  /** Environment checks, shared with the worker's start-up report so a probe runs once. */
  environments: TaskEnvironments;
  /** The isolation the worker was started with (`worker gpu --sandbox …`). */
  sandbox: SandboxSettings;
  openStore?: OpenStore;
}

export const createGpuActivities = (deps: GpuDeps) => ({
  execute: (input: ExecuteActivityInput): Promise<ExecutionResult> => executeOnGpus(deps, input),
});

export interface ExecuteActivityInput extends ExecuteInput {
  store: string;
  /** Run again even if this exact execution was measured before (e.g. a GPU that may have misbehaved). */
  rerun?: boolean;
}

/**
 * Runs one version with the task's GPUs. Heartbeats while it waits for GPUs and while it runs
 * (training step, elapsed time), so the UI and CLI can show it and a dead host is noticed within the
 * heartbeat timeout; the retry starts again from the same snapshot. The devices are given back
 * however it ends. Cancellation kills the whole process group before returning; a worker shutdown
 * (after its grace time) does too, and hands the execution back to run on another worker.
 */
async function executeOnGpus(
  { slots, environments, sandbox, openStore = openArtifactStore }: GpuDeps,
  input: ExecuteActivityInput,
): Promise<ExecutionResult> {
  const ctx = Context.current();
  const want = input.task.gpus_per_execution;
  if (want > slots.devices.length) {
    throw ApplicationFailure.nonRetryable(
      `task '${input.task.id}' needs ${want} GPU(s) per execution; this worker (${hostname()}) has ${slots.devices.length}. Start a GPU worker with --gpus.`,
      'InsufficientGpus',
    );
  }
  const store = openStore(input.store);
  const key = executionKey(input);
  const measured = input.rerun ? undefined : await cachedExecution(store, key);
  if (measured) return { ...measured, cached: true };

  const asked = Date.now();
  let started: number | undefined;
  let devices: string[] | undefined;
  let progress: { step: number; totalSteps: number } | undefined;
  const beat = () =>
    ctx.heartbeat(
      started === undefined
        ? { nodeId: input.nodeId, waiting_for_gpus: want, waited_ms: Date.now() - asked }
        : { nodeId: input.nodeId, ...progress, elapsed_ms: Date.now() - started, devices },
    );
  const timer = setInterval(beat, heartbeatEveryMs(ctx));
  beat();
  try {
    // Checked once per interpreter (importing torch can take a while: the heartbeat is already going).
    const ready = await environments.check(input.task);
    if (!ready.ok) {
      throw ApplicationFailure.create({
        message: `the GPU worker on ${hostname()} cannot run task '${input.task.id}': ${ready.reason}. \`speedrunner worker gpu --check\` lists what each host can run.`,
        type: 'TaskEnvironmentUnavailable',
        nonRetryable: true,
      });
    }
    devices = await slots.acquire(want, ctx.cancellationSignal).catch((err) => {
      throw err instanceof WorkerDraining
        ? handBack(input, 'waited for GPUs')
        : ctx.cancellationSignal.aborted
          ? stopped(ctx, input, 'waited for GPUs')
          : err;
    });
    started = Date.now();
    beat();
    const result = await executeVersion(store, input, devices, {
      sandbox,
      signal: ctx.cancellationSignal,
      onLine: (line) => {
        progress = progressFromLine(line) ?? progress;
      },
    }).catch((err) => {
      throw ctx.cancellationSignal.aborted ? stopped(ctx, input, 'was running') : err;
    });
    // Cut short, it measured nothing: say why instead of returning a result.
    if (ctx.cancellationSignal.aborted) throw stopped(ctx, input, 'was running');
    await saveExecution(store, key, result);
    return { ...result, cached: false };
  } finally {
    clearInterval(timer);
    if (devices) slots.release(devices);
  }
}

/** A worker shutdown hands the execution back (a retryable failure: it runs again on a worker); any other cancellation stays one. */
function stopped(ctx: Context, input: ExecuteActivityInput, doing: string): unknown {
  const reason = ctx.cancellationSignal.reason;
  if (reason instanceof CancelledFailure && reason.message === 'WORKER_SHUTDOWN') return handBack(input, doing);
  return reason instanceof Error ? reason : new CancelledFailure(String(reason));
}

function handBack(input: ExecuteActivityInput, doing: string) {
  return ApplicationFailure.retryable(
    `the GPU worker on ${hostname()} shut down while v_${input.nodeId} ${doing}; it runs again on the next free GPU worker`,
    'GpuWorkerShutdown',
  );
}
