// Worker Deployment versions as the operator sees them: which build new runs start on.
import type { Client } from '@temporalio/client';

/** Makes `buildId` the deployment's current version: new runs start on it; pinned runs stay where they are. */
export async function setCurrentBuild(client: Client, deploymentName: string, buildId: string): Promise<void> {
  await client.workflowService.setWorkerDeploymentCurrentVersion({
    namespace: client.options.namespace,
    deploymentName,
    buildId,
    identity: 'speedrunner',
  });
}

export interface DeploymentVersions {
  current?: string;
  versions: { buildId: string; status: string }[];
}

export async function describeDeployment(client: Client, deploymentName: string): Promise<DeploymentVersions> {
  const res = await client.workflowService.describeWorkerDeployment({
    namespace: client.options.namespace,
    deploymentName,
  });
  const info = res.workerDeploymentInfo;
  return {
    current: info?.routingConfig?.currentDeploymentVersion?.buildId || undefined,
    versions: (info?.versionSummaries ?? []).map((v) => ({
      buildId: v.deploymentVersion?.buildId ?? '',
      status: String(v.status ?? ''),
    })),
  };
}

/** The build a run is pinned to, if it runs under Worker Versioning. */
export async function runBuild(client: Client, workflowId: string): Promise<string | undefined> {
  const d = await client.workflow.getHandle(workflowId).describe();
  return d.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId || undefined;
}
