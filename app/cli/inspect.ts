import { homeDir } from '../../src/paths';
import { join } from 'node:path';
import { readRun, type RunReadout } from '../../temporal/client/run-client';
import { loadRunView } from '../../src/store/run-view-store';
import { ArtifactStore } from '../../src/store/artifact-store';
import { connectClient, usesExternalCluster } from '../../temporal/client/connection';
import { defaultPort, isPortOpen } from '../../temporal/client/dev-server';
import { renderTree, summaryLines } from './render';
import { loadTask } from '../../src/config/load';

/** Whether the run's task trains on no GPU (its device time is CPU time); unknown tasks count as GPU. */
function isCpuTask(taskId: string): boolean {
  try {
    return loadTask(taskId).gpus_per_execution === 0;
  } catch {
    return false;
  }
}

/** `status` and `tree`: live through queries; from the stored snapshot when no worker (or no server) is up. */
export async function printRun(runId: string, opts: { json?: boolean; tree: boolean }) {
  const defaultStore = join(homeDir(), 'store');
  let readout: RunReadout;
  let serverDown = false;
  try {
    // The embedded server's port says at once whether it is up; the SDK would retry for 10 s first.
    if (!usesExternalCluster() && !(await isPortOpen(defaultPort())))
      throw new Error(`no Temporal server answers on 127.0.0.1:${defaultPort()}`);
    const client = await connectClient();
    readout = await readRun(client, runId, defaultStore);
  } catch (err) {
    serverDown = /cannot connect to Temporal|no Temporal server answers/.test((err as Error).message);
    const view = await loadRunView(new ArtifactStore(defaultStore), runId);
    if (!view) throw err;
    readout = { view, status: 'UNKNOWN', source: 'store' };
  }
  const { view, status, source, failure } = readout;
  if (opts.json) {
    const base = {
      runId,
      status,
      source,
      phase: view.phase,
      iteration: view.iteration,
      n_iterations: view.n_iterations,
      best: view.best ?? null,
      fsr: view.fsr ?? null,
      usage: view.usage,
      paused: view.paused ?? false,
      stopped: view.stopped ?? null,
      gpu_seconds: view.gpu_seconds ?? 0,
      forked_from: view.forked_from ?? null,
      failure: failure ?? null,
    };
    console.log(
      JSON.stringify(
        opts.tree
          ? { ...base, selection_metric: view.selection_metric, nodes: view.nodes }
          : { ...base, nodes: view.nodes.length },
      ),
    );
    return;
  }
  console.log(
    `status: ${status} (read from ${source === 'query' ? 'the live workflow' : `the stored snapshot: ${serverDown ? 'the Temporal server is down (speedrunner server start)' : 'no worker answered'}`})`,
  );
  if (failure) console.log(`failed: ${failure}`);
  for (const line of summaryLines(view, { cpu: isCpuTask(view.task) })) console.log(line);
  if (opts.tree) console.log(`\n${renderTree(view)}`);
}
