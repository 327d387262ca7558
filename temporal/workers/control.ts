import { Worker, type NativeConnection } from '@temporalio/worker';
import { createControlActivities } from '../activities/control';
import { createSweepActivities } from '../activities/sweep';
import { createAgentActivities } from '../activities/agent';
import { RunConfigs } from '../activities/run-context';
import { workflowBundlePath } from './bundle';
import { workerDeployment } from './deployment';
import { controlQueue } from '../../core/task-queue';
import { dataConverter } from '../client/payload-codec';

/** Control worker: the workflows plus LLM, edit and record activities, on the control queue (`speedrunner` by default). */
export async function createControlWorker(connection: NativeConnection, namespace: string) {
  // What this worker owns: run configs read by hash, shared by the run's and the agent's activities.
  const configs = new RunConfigs();
  return Worker.create({
    connection,
    namespace,
    taskQueue: controlQueue(),
    dataConverter,
    workflowBundle: { codePath: await workflowBundlePath() },
    // Runs stay on the build they started on (SPEEDRUNNER_BUILD_ID; unversioned without one).
    workerDeploymentOptions: workerDeployment(),
    activities: {
      ...createControlActivities({ configs }),
      ...createSweepActivities(),
      ...createAgentActivities({ configs }),
    },
    // LLM calls are I/O bound: many may wait on providers at once.
    maxConcurrentActivityTaskExecutions: 64,
    shutdownGraceTime: '10 s',
  });
}
