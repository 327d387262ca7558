import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { resolveRunConfig } from '../../src/config/load';
import type { RunConfig } from '../../src/config/schema';
import { homeDir, ROOT } from '../../src/paths';
import { hasPollers, startRun } from '../../temporal/client/run-client';
import { ACTIVITY_TASKS, hasLivePollers } from '../../temporal/client/pollers';
import { checkBeforeStart } from '../../src/config/preflight';
import { gpuQueue } from '../../core/search-attributes';
import { loadRunView } from '../../src/store/run-view-store';
import { ArtifactStore } from '../../src/store/artifact-store';
import {
  connectClient,
  connectConfig,
  connectWorkerConnection,
  usesExternalCluster,
} from '../../temporal/client/connection';
import { defaultUiPort, startDevServer } from '../../temporal/client/dev-server';
import { stateQuery, treeQuery } from '../../temporal/workflows/speedrun';
import type { CarriedState } from '../../core/run-state';
import { nodeLine, reasonRepeats, summaryLines } from './render';
import { startRunProgress } from './progress';
import { createWorker, parseGpus } from './worker';
import { rootCause } from './errors';

export function describeModel(config: RunConfig): string {
  const m = config.model;
  if (m.provider === 'scripted') {
    return `model: SCRIPTED (built-in replies from ${m.script}; no LLM is called). Set OPENAI_API_KEY or ANTHROPIC_API_KEY, or pass model=<id>, for a real model.`;
  }
  return `model: ${m.id} (${m.provider} ${m.model}${m.base_url ? ` at ${m.base_url}` : ''})`;
}

/**
 * The workflow's page in the Temporal UI: the embedded dev server's UI, Temporal Cloud's for a
 * *.tmprl.cloud address, or SPEEDRUNNER_UI_URL (the UI's base URL) for a self-hosted cluster.
 */
export function uiUrl(workflowId: string): string | undefined {
  const { connectionOptions, namespace } = connectConfig();
  const base =
    process.env.SPEEDRUNNER_UI_URL?.replace(/\/+$/, '') ??
    (!usesExternalCluster()
      ? `http://127.0.0.1:${defaultUiPort()}`
      : /\.tmprl\.cloud(:\d+)?$/.test(connectionOptions.address ?? '')
        ? 'https://cloud.temporal.io'
        : undefined);
  return base && `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The UI line of the CLI's output. */
export const uiLine = (workflowId: string) =>
  `UI: ${uiUrl(workflowId) ?? '(set SPEEDRUNNER_UI_URL to your Temporal UI for a link)'}`;

/** Starts `speedrunner worker control|gpu` as background processes, logging under the home dir. */
export function spawnBackgroundWorkers(gpus: string) {
  const logs = join(homeDir(), 'logs');
  mkdirSync(logs, { recursive: true });
  for (const args of [
    ['worker', 'control'],
    ['worker', 'gpu', '--gpus', gpus],
  ]) {
    const out = openSync(join(logs, `${args[1]}-worker.log`), 'a');
    spawn(process.execPath, [join(ROOT, 'bin', 'speedrunner.js'), ...args], {
      detached: true,
      stdio: ['ignore', out, out],
    }).unref();
  }
}

/** A fork's starting point: the earlier run's config (overrides apply on top) and its lineage. */
export interface ForkStart {
  config: RunConfig;
  carried: CarriedState;
}

export async function runCommand(
  overrides: string[],
  opts: { detach?: boolean; json?: boolean; gpus?: string },
  fork?: ForkStart,
) {
  const config = resolveRunConfig(overrides, process.env, fork?.config);
  await checkBeforeStart(config); // exit 2 before anything starts
  const say = opts.json ? (_: string) => {} : (s: string) => console.log(s);
  say(describeModel(config));
  const external = usesExternalCluster();
  if (!external) {
    const server = await startDevServer();
    if (server.started) say(`started the Temporal dev server at ${server.address} (UI ${server.ui}, db ${server.db})`);
  }
  const client = await connectClient();
  const gpus = opts.gpus ?? process.env.SPEEDRUNNER_GPUS ?? 'none';

  if (opts.detach) {
    if (!external && !(await hasPollers(client, config.task_queue))) {
      spawnBackgroundWorkers(gpus);
      say(`started background workers (logs in ${join(homeDir(), 'logs')})`);
    } else {
      await warnWithoutGpuWorker(client, config);
    }
    const handle = await startRun(client, config, undefined, fork?.carried);
    if (opts.json) console.log(JSON.stringify({ runId: handle.workflowId, ui: uiUrl(handle.workflowId) ?? null }));
    else console.log(`${handle.workflowId}\n${uiLine(handle.workflowId)}`);
    return;
  }

  const workers: Worker[] = [];
  if (external) await warnWithoutGpuWorker(client, config);
  else {
    // In-process workers: their INFO logs would drown the progress lines.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const { connection, namespace } = await connectWorkerConnection();
    workers.push(
      await createWorker('control', connection, namespace, []),
      await createWorker('gpu', connection, namespace, parseGpus(gpus)),
    );
  }
  const handle = await startRun(client, config, undefined, fork?.carried);
  say(`run ${handle.workflowId} started\n${uiLine(handle.workflowId)}`);

  const watch = async () => {
    const result = handle.result();
    if (opts.json) return result; // nothing is shown on the way
    let settled = false;
    result.then(
      () => (settled = true),
      () => (settled = true),
    );
    const progress = startRunProgress(client, handle.workflowId); // a status line, only on a terminal
    // Parallel versions finish out of order: each is printed once, when it is recorded.
    const shown = new Set<number>();
    const repeats = reasonRepeats(); // five versions failing alike print the reason once
    while (!settled) {
      await Promise.race([result.catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
      try {
        const s = await handle.query(stateQuery);
        if (s.nodes === shown.size) continue;
        const tree = await handle.query(treeQuery);
        for (const n of tree.nodes)
          if (n.status !== 'pending' && !shown.has(n.id)) {
            progress.log(
              `[iteration ${n.iteration}/${tree.n_iterations}] ${nodeLine(n, tree.selection_metric, repeats.sameAs(n))}`,
            );
            shown.add(n.id);
          }
      } catch {
        /* a query can fail while workers restart; the next poll tries again */
      }
    }
    progress.stop();
    return result;
  };

  let outcome;
  try {
    outcome = workers.length ? await runWorkersUntil(workers, watch()) : await watch();
  } catch (err) {
    console.error(`run ${handle.workflowId} failed: ${rootCause(err as Error)}`);
    process.exitCode = 1;
    return;
  }
  if (opts.json) {
    console.log(
      JSON.stringify({
        ...outcome,
        best: outcome.best ?? null,
        fsr: outcome.fsr ?? null,
        status: 'COMPLETED',
        ui: uiUrl(handle.workflowId) ?? null,
      }),
    );
    return;
  }
  for (const line of summaryLines(await readFinalView(handle.workflowId, config))) console.log(line);
}

/** Executions wait for a GPU worker: say so up front when none polls the run's GPU queue (on stderr; the run still starts). */
async function warnWithoutGpuWorker(client: Awaited<ReturnType<typeof connectClient>>, config: RunConfig) {
  const queue = gpuQueue(config.task_queue);
  if (await hasLivePollers(client, queue, ACTIVITY_TASKS)) return;
  console.error(
    `warning: no GPU worker polls ${queue}: executions of task '${config.task.id}' wait until one starts ` +
      `(\`speedrunner worker gpu --gpus <ids>\` on a host with the task's environment; \`speedrunner worker gpu --check\` says which tasks a host can run)`,
  );
}

async function runWorkersUntil<T>(workers: Worker[], until: Promise<T>): Promise<T> {
  const [value] = await Promise.all([until, ...workers.map((w) => w.runUntil(until.catch(() => undefined)))]);
  return value as T;
}

async function readFinalView(runId: string, config: RunConfig) {
  const view = await loadRunView(new ArtifactStore(config.store), runId);
  if (!view) throw new Error(`run ${runId} finished but left no snapshot in ${config.store}`);
  return view;
}
