import { Worker, type NativeConnection } from '@temporalio/worker';
import * as gpu from '../activities/gpu';
import { GpuAdmission } from '../../src/exec/gpu-slots';
import { gpuQueue } from '../../core/search-attributes';
import { controlQueue } from '../../core/task-queue';
import { dataConverter } from '../client/payload-codec';

const fixed = (numSlots: number) => ({ type: 'fixed-size' as const, numSlots });

/**
 * GPU worker: training executions on `<control queue>-gpu`, with the device ids it owns. It asks the
 * server for an execution only when one could start at once (see GpuAdmission), so an execution never
 * sits on a busy host while another host has free GPUs. GPU-less executions run `cpuSlots` at once.
 */
export async function createGpuWorker(connection: NativeConnection, namespace: string, devices: string[], cpuSlots = 1) {
  const { slots } = gpu.configureGpus(devices, cpuSlots);
  drainOnShutdownSignals();
  return Worker.create({
    connection,
    namespace,
    taskQueue: gpuQueue(controlQueue()),
    dataConverter,
    activities: { execute: gpu.execute },
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

let signalsHooked = false;
/** The SDK shuts workers down on these signals; executions still waiting for GPUs are handed back at once. */
function drainOnShutdownSignals() {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2'] as const) process.once(signal, () => gpu.drainGpus());
}
