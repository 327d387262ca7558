import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { readRun } from '../../temporal/client/run-client';
import { loadRunView } from '../../src/store/run-view-store';
import { ArtifactStore } from '../../src/store/artifact-store';
import { executionsInFlight } from './in-flight';
import { decodePayload } from '../../temporal/client/payload-codec';
import type { RunReportInput } from './run-report-data';

/** The config a run started with: the first event of its (latest) history carries the workflow input. */
export async function startConfig(client: Client, runId: string): Promise<unknown> {
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: runId },
    maximumPageSize: 1,
  });
  const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return undefined;
  const input = (await decodePayload(client, payload as Payload)) as { config?: unknown } | undefined;
  return input?.config;
}

/**
 * A run as the report shows it: live through the workflow when a worker answers, else the snapshot
 * the run keeps in its store; plus its start config and executions in flight, which the server
 * alone answers. `client` is undefined when no server could be reached: then only the store is read.
 */
export async function readRunForReport(
  client: Client | undefined,
  runId: string,
  defaultStore: string,
): Promise<{ input: RunReportInput; store: ArtifactStore }> {
  let desc: WorkflowExecutionDescription | undefined;
  if (client)
    desc = await client.workflow
      .getHandle(runId)
      .describe()
      .catch(() => undefined);
  if (!client || !desc) {
    const store = new ArtifactStore(defaultStore);
    const view = await loadRunView(store, runId);
    if (!view) {
      throw new Error(
        `no run ${runId}: ${client ? 'the Temporal server does not know it' : 'no Temporal server answered'} and the store at ${defaultStore} has no snapshot of it`,
      );
    }
    return { input: { view, status: 'UNKNOWN', source: 'store' }, store };
  }
  const memo = (desc.memo ?? {}) as { store?: string };
  const store = new ArtifactStore(memo.store ?? defaultStore);
  const [readout, config, executions] = await Promise.all([
    readRun(client, runId, store.root),
    startConfig(client, runId).catch(() => undefined),
    desc.status.name === 'RUNNING' ? executionsInFlight(client, desc) : Promise.resolve([]),
  ]);
  return { input: { ...readout, config, executions }, store };
}
