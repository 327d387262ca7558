import { Worker, type NativeConnection } from '@temporalio/worker';
import * as control from '../activities/control';
import * as sweep from '../activities/sweep';
import * as agent from '../activities/agent';
import { workflowBundlePath } from './bundle';
import { workerDeployment } from './deployment';
import { controlQueue } from '../../core/task-queue';
import { dataConverter } from '../client/payload-codec';

/** Control worker: the workflows plus LLM, edit and record activities, on the control queue (`speedrunner` by default). */
export async function createControlWorker(connection: NativeConnection, namespace: string) {
  return Worker.create({
    connection,
    namespace,
    taskQueue: controlQueue(),
    dataConverter,
    workflowBundle: { codePath: await workflowBundlePath() },
    // Runs stay on the build they started on (SPEEDRUNNER_BUILD_ID; unversioned without one).
    workerDeploymentOptions: workerDeployment(),
    activities: { ...control, ...sweep, ...agent },
    // LLM calls are I/O bound: many may wait on providers at once.
    maxConcurrentActivityTaskExecutions: 64,
    shutdownGraceTime: '10 s',
  });
}
