import type { Client } from '@temporalio/client';
import type { RunConfig } from '../../src/config/schema';
import type { RunView } from '../../core/types';
import { ArtifactStore } from '../../src/store/artifact-store';
import { runStartOptions } from '../../core/start-options';
import { loadRunView } from '../../src/store/run-view-store';
import { speedrunWorkflow, treeQuery } from '../workflows/speedrun';
import type { CarriedState } from '../../core/run-state';
import { hasLivePollers } from './pollers';
import { runFailure } from './run-failure';

export function newRunId(config: RunConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const rand = Math.random().toString(16).slice(2, 6);
  return `run-${config.task.id.replace(/[^a-z0-9]+/g, '-')}-${stamp}-${rand}`;
}

/** Starts a run; `carried` is a fork's starting lineage (see temporal/client/fork.ts). */
export async function startRun(client: Client, config: RunConfig, runId = newRunId(config), carried?: CarriedState) {
  const fork = carried?.forked_from;
  return client.workflow.start(speedrunWorkflow, {
    taskQueue: config.task_queue,
    workflowId: runId,
    args: [{ config, ...(carried ? { carried } : {}) }],
    ...runStartOptions(config, { forkedFrom: fork }),
  });
}

/** Whether a live worker polls the queue for workflow tasks (pollers of exited processes on this host left out). */
export const hasPollers = (client: Client, taskQueue: string): Promise<boolean> => hasLivePollers(client, taskQueue);

export interface RunReadout {
  view: RunView;
  /** Workflow execution status (RUNNING, COMPLETED, FAILED, …). */
  status: string;
  /** `query`: live from the workflow; `store`: the snapshot the run keeps (no worker was up). */
  source: 'query' | 'store';
  /** What ended a failed, terminated or timed-out run (from its close event); absent otherwise. */
  failure?: string;
}

/** A run's state: through a workflow query when a worker answers, else from the run's stored snapshot. */
export async function readRun(
  client: Client,
  runId: string,
  defaultStore: string,
  queryTimeoutMs = 10_000,
): Promise<RunReadout> {
  const handle = client.workflow.getHandle(runId);
  const desc = await handle.describe(); // answered by the server alone
  const status = desc.status.name;
  const failure = await runFailure(client, runId, status);
  const why = failure ? { failure } : {};
  let unanswered: string;
  try {
    // No poller at all: no worker can answer. Pollers listed: ask, with a bound, since the list lags
    // behind dead workers (and a finished run's query replays its whole history, slow on a busy host).
    if (!(await hasPollers(client, desc.taskQueue)))
      throw new Error(`no live worker polls task queue ${desc.taskQueue}`);
    const view = await client.withDeadline(Date.now() + queryTimeoutMs, () => handle.query(treeQuery));
    return { view: { ...view, updated_at: new Date().toISOString() }, status, source: 'query', ...why };
  } catch (err) {
    unanswered = /deadline/i.test((err as Error).message)
      ? `no worker answered its query within ${queryTimeoutMs / 1000} s`
      : (err as Error).message;
  }
  const memo = (desc.memo ?? {}) as { store?: string };
  const view = await loadRunView(new ArtifactStore(memo.store ?? defaultStore), runId);
  if (!view && failure) throw new Error(`run ${runId} ${status}: ${failure} (before it stored a snapshot)`);
  if (!view)
    throw new Error(
      `run ${runId} (${status}) has no stored snapshot yet and ${unanswered}; start one with \`speedrunner worker control\``,
    );
  return { view, status, source: 'store', ...why };
}
