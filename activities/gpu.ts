// Activities of the GPU worker (task queue `speedrunner-gpu`): training executions.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { executeVersion, type ExecuteInput } from '../src/exec/execute-version';
import { GpuSlots } from '../src/exec/gpu-slots';
import { cachedExecution, executionKey, saveExecution } from '../src/exec/result-cache';
import { progressFromLine } from '../src/speedrun/log-parse';
import { ArtifactStore } from '../src/store/artifact-store';
import { heartbeatEveryMs } from './heartbeat';

let slots = new GpuSlots([]);

/** Called once by the GPU worker at start with the device ids it owns. */
export function configureGpus(devices: string[]) {
  slots = new GpuSlots(devices);
}

export interface ExecuteActivityInput extends ExecuteInput {
  store: string;
  /** Run again even if this exact execution was measured before (e.g. a GPU that may have misbehaved). */
  rerun?: boolean;
}

/**
 * Runs one version with the task's GPUs. Heartbeats progress (training step, elapsed time) so the UI
 * and CLI can show it and a dead host is noticed within the heartbeat timeout; the retry starts again
 * from the same snapshot. Cancellation kills the whole process group before returning.
 */
export async function execute(input: ExecuteActivityInput) {
  const ctx = Context.current();
  const want = input.task.gpus_per_execution;
  if (want > slots.devices.length) {
    throw ApplicationFailure.nonRetryable(
      `task '${input.task.id}' needs ${want} GPU(s) per execution; this worker has ${slots.devices.length}. Start a GPU worker with --gpus.`,
      'InsufficientGpus',
    );
  }
  const store = new ArtifactStore(input.store);
  const key = executionKey(input);
  const measured = input.rerun ? undefined : await cachedExecution(store, key);
  if (measured) return { ...measured, cached: true };

  const devices = await slots.acquire(want);
  const started = Date.now();
  let progress: { step: number; totalSteps: number } | undefined;
  const beat = () => ctx.heartbeat({ ...progress, elapsed_ms: Date.now() - started, devices });
  const timer = setInterval(beat, heartbeatEveryMs(ctx));
  beat();
  try {
    const result = await executeVersion(store, input, devices, {
      signal: ctx.cancellationSignal,
      onLine: (line) => {
        progress = progressFromLine(line) ?? progress;
      },
    });
    await saveExecution(store, key, result);
    return { ...result, cached: false };
  } finally {
    clearInterval(timer);
    slots.release(devices);
  }
}
