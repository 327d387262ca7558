import { Worker, type NativeConnection } from '@temporalio/worker';
import * as control from '../../activities/control';
import * as gpu from '../../activities/gpu';
import { workflowBundlePath } from './bundle';
import { TASK_QUEUE_CONTROL, TASK_QUEUE_GPU } from './search-attributes';

/** Control worker: the workflows plus LLM, edit and record activities, on queue `speedrunner`. */
export async function createControlWorker(connection: NativeConnection, namespace: string) {
  return Worker.create({
    connection,
    namespace,
    taskQueue: TASK_QUEUE_CONTROL,
    workflowBundle: { codePath: await workflowBundlePath() },
    activities: control,
    // LLM calls are I/O bound: many may wait on providers at once.
    maxConcurrentActivityTaskExecutions: 64,
    shutdownGraceTime: '10 s',
  });
}

/**
 * GPU worker: training executions on queue `speedrunner-gpu`, with the device ids it owns. It takes
 * as many executions as there are GPUs (one at a time on a CPU-only host); each waits for free GPUs.
 */
export function createGpuWorker(connection: NativeConnection, namespace: string, devices: string[], cpuSlots = 1) {
  gpu.configureGpus(devices);
  return Worker.create({
    connection,
    namespace,
    taskQueue: TASK_QUEUE_GPU,
    activities: { execute: gpu.execute },
    maxConcurrentActivityTaskExecutions: Math.max(devices.length, cpuSlots),
    // On SIGTERM let running executions finish for a while before they are cancelled (and killed).
    shutdownGraceTime: process.env.SPEEDRUNNER_GPU_GRACE ?? '30 s',
  });
}
