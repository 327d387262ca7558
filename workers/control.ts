import { Worker, type NativeConnection } from '@temporalio/worker';
import * as control from '../activities/control';
import { workflowBundlePath } from '../src/temporal/bundle';
import { TASK_QUEUE_CONTROL } from '../src/temporal/search-attributes';

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
