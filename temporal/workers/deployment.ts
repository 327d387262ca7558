// Worker Versioning: with SPEEDRUNNER_BUILD_ID set, a control worker joins the Worker Deployment
// `SPEEDRUNNER_DEPLOYMENT` (default `speedrunner`) as that build, and every run is PINNED to the build it
// started on. New harness code then rolls out mid-sweep without patched() branches: start workers of
// the new build, make it the deployment's current version, and keep the old build's workers until
// the runs pinned to it have finished (docs/scaling-out.md, "Rolling out new harness code").
import type { WorkerDeploymentOptions } from '@temporalio/worker';

export const DEFAULT_DEPLOYMENT = 'speedrunner';

export function deploymentName(env: NodeJS.ProcessEnv = process.env): string {
  return env.SPEEDRUNNER_DEPLOYMENT || DEFAULT_DEPLOYMENT;
}

/** The control worker's deployment options; none (an unversioned worker) without a build id. */
export function workerDeployment(env: NodeJS.ProcessEnv = process.env): WorkerDeploymentOptions | undefined {
  const buildId = env.SPEEDRUNNER_BUILD_ID;
  if (!buildId) return undefined;
  return {
    version: { deploymentName: deploymentName(env), buildId },
    useWorkerVersioning: true,
    defaultVersioningBehavior: 'PINNED',
  };
}
