import type { NativeConnection, Worker } from '@temporalio/worker';
import { connectWorkerConnection } from '../../temporal/client/connection';
import { checkAllTasks, describeReadiness, TaskEnvironments } from '../../src/exec/task-env';
import {
  configureSandbox,
  describeSandbox,
  parseSandboxMode,
  sandboxSettings,
  type SandboxSettings,
} from '../../src/exec/sandbox';
import { defaultPython } from '../../src/paths';

export function parseGpus(spec: string): string[] {
  if (spec === 'none' || spec === '') return [];
  const ids = spec.split(',').map((s) => s.trim());
  if (ids.some((id) => !/^\d+$/.test(id)) || new Set(ids).size !== ids.length) {
    throw new Error(`--gpus takes distinct device numbers like 0,1,2,3 or 'none' (got '${spec}')`);
  }
  return ids;
}

function parseSlots(spec: string | undefined): number {
  const n = Number(spec ?? 1);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--slots takes a whole number of executions, 1 or more (got '${spec}')`);
  return n;
}

export interface WorkerOptions {
  gpus?: string;
  slots?: string;
  check?: boolean;
  json?: boolean;
  sandbox?: string;
  network?: boolean;
}

/** A long-lived worker; SIGINT/SIGTERM shut it down gracefully (the SDK installs those handlers). */
export async function runWorker(kind: 'control' | 'gpu', opts: WorkerOptions) {
  const devices = kind === 'gpu' ? parseGpus(opts.gpus ?? 'none') : [];
  const cpuSlots = parseSlots(opts.slots);
  if (kind === 'gpu' && opts.check) return checkHost(devices, opts);
  // The sandbox is said (and, with --sandbox strict, enforced) before any execution is taken; the
  // environment checks are shared by the worker and its start-up report, so each probe runs once.
  const host: GpuHost =
    kind === 'gpu'
      ? { sandbox: configureSandbox(sandboxChoice(opts), defaultPython()), environments: new TaskEnvironments(devices) }
      : {};
  const { connection, namespace } = await connectWorkerConnection();
  const worker = await createWorker(kind, connection, namespace, devices, cpuSlots, host);
  console.log(
    `${kind} worker up (pid ${process.pid}, namespace ${namespace}${kind === 'gpu' ? `, GPUs ${devices.join(',') || 'none'}` : ''})`,
  );
  // Which tasks this host can run, found while it already polls: an execution it cannot run is refused
  // on its own with a clear reason, so the report is for the operator and must not delay the start.
  if (host.environments) void reportTasks(host.environments);
  await worker.run();
  await connection.close();
  console.log(`${kind} worker stopped`);
}

/** `--sandbox` and `--network` as settings over the environment's. */
function sandboxChoice(opts: WorkerOptions): Partial<SandboxSettings> {
  return {
    ...(opts.sandbox ? { mode: parseSandboxMode(opts.sandbox) } : {}),
    ...(opts.network ? { network: true } : {}),
  };
}

/** What a GPU worker is handed instead of finding it in module globals. */
export interface GpuHost {
  /** Default: the environment's settings (SPEEDRUNNER_SANDBOX…). */
  sandbox?: SandboxSettings;
  environments?: TaskEnvironments;
}

/**
 * Worker modules are imported on demand: a GPU worker never loads the LLM clients, and commands that
 * start no worker load neither (worker start-up time is crash-recovery time, docs/performance.md).
 */
export async function createWorker(
  kind: 'control' | 'gpu',
  connection: NativeConnection,
  namespace: string,
  devices: string[],
  cpuSlots = 1,
  host: GpuHost = {},
): Promise<Worker> {
  if (kind === 'control')
    return (await import('../../temporal/workers/control')).createControlWorker(connection, namespace);
  const { createGpuWorker } = await import('../../temporal/workers/gpu');
  return createGpuWorker(connection, namespace, {
    devices,
    cpuSlots,
    sandbox: host.sandbox ?? sandboxSettings(),
    environments: host.environments,
  });
}

/** `worker gpu --check`: every known task against this host; exit code 1 when some cannot run here. */
async function checkHost(devices: string[], opts: WorkerOptions) {
  const json = Boolean(opts.json);
  // What this host gives an execution (namespaces, cgroup limits): on stderr beside --json's array.
  const sandbox = { ...sandboxSettings(), ...sandboxChoice(opts) };
  (json ? console.error : console.log)(describeSandbox(defaultPython(), sandbox));
  const results = await checkAllTasks(new TaskEnvironments(devices));
  if (json) console.log(JSON.stringify(results));
  else for (const r of results) console.log(describeReadiness(r));
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

async function reportTasks(envs: TaskEnvironments) {
  try {
    const results = await checkAllTasks(envs);
    const ok = results.filter((r) => r.ok).map((r) => r.task);
    console.log(`tasks this host can run: ${ok.join(', ') || 'none'}`);
    for (const r of results.filter((r) => !r.ok || r.note)) console.log(`  ${describeReadiness(r)}`);
  } catch (err) {
    console.error(`could not check task environments: ${(err as Error).message}`);
  }
}
