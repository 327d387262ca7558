import { Worker, type NativeConnection } from '@temporalio/worker';
import { createGpuActivities } from '../activities/gpu';
import { GpuAdmission, GpuSlots } from '../../src/exec/gpu-slots';
import type { SandboxSettings } from '../../src/exec/sandbox';
import { TaskEnvironments } from '../../src/exec/task-env';
import { gpuQueue } from '../../core/search-attributes';
import { controlQueue } from '../../core/task-queue';
import { dataConverter } from '../client/payload-codec';

const fixed = (numSlots: number) => ({ type: 'fixed-size' as const, numSlots });

export interface GpuWorkerOptions {
  /** The device ids this worker owns. */
  devices: string[];
  /** GPU-less executions that may run at once. */
  cpuSlots?: number;
  /** How executions are isolated (`worker gpu --sandbox …`, else the environment's settings). */
  sandbox: SandboxSettings;
  /** Pass the start-up report's checks so each interpreter is probed once (default: the worker's own). */
  environments?: TaskEnvironments;
}

/**
 * GPU worker: training executions on `<control queue>-gpu`, with the device ids it owns. It asks the
 * server for an execution only when one could start at once (see GpuAdmission), so an execution never
 * sits on a busy host while another host has free GPUs. GPU-less executions run `cpuSlots` at once.
 */
export async function createGpuWorker(connection: NativeConnection, namespace: string, opts: GpuWorkerOptions) {
  // What this worker owns: its devices, its environment checks and its sandbox, handed to its activities.
  const slots = new GpuSlots(opts.devices, opts.cpuSlots ?? 1);
  const environments = opts.environments ?? new TaskEnvironments(opts.devices);
  drainOnShutdownSignals(slots);
  return Worker.create({
    connection,
    namespace,
    taskQueue: gpuQueue(controlQueue()),
    dataConverter,
    activities: createGpuActivities({ slots, environments, sandbox: opts.sandbox }),
    tuner: {
      activityTaskSlotSupplier: new GpuAdmission(slots),
      // This worker runs no workflows, local activities or Nexus tasks.
      workflowTaskSlotSupplier: fixed(1),
      localActivityTaskSlotSupplier: fixed(1),
      nexusTaskSlotSupplier: fixed(1),
    },
    // On SIGTERM running executions get this long to finish; then they are cancelled (their process
    // groups killed) and handed back to run on another worker.
    shutdownGraceTime: process.env.SPEEDRUNNER_GPU_GRACE ?? '30 s',
  });
}

/**
 * The SDK shuts workers down on these signals; this worker's executions still waiting for GPUs are
 * handed back at once instead of waiting out the grace time.
 */
function drainOnShutdownSignals(slots: GpuSlots) {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2'] as const) process.once(signal, () => slots.drain());
}
