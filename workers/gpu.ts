import { Worker, type NativeConnection } from '@temporalio/worker';
import * as gpu from '../activities/gpu';
import { gpuQueue } from '../src/temporal/search-attributes';
import { controlQueue } from '../src/temporal/task-queue';

/**
 * GPU worker: training executions on `<control queue>-gpu`, with the device ids it owns. It takes
 * as many executions as there are GPUs (one at a time on a CPU-only host); each waits for free GPUs.
 */
export function createGpuWorker(connection: NativeConnection, namespace: string, devices: string[], cpuSlots = 1) {
  gpu.configureGpus(devices);
  return Worker.create({
    connection,
    namespace,
    taskQueue: gpuQueue(controlQueue()),
    activities: { execute: gpu.execute },
    maxConcurrentActivityTaskExecutions: Math.max(devices.length, cpuSlots),
    // On SIGTERM let running executions finish for a while before they are cancelled (and killed).
    shutdownGraceTime: process.env.SPEEDRUNNER_GPU_GRACE ?? '30 s',
  });
}
