// Real pieces for a benchmark: a Temporal dev server on free ports with its own SQLite file, workers
// as `speedrunner worker` child processes, the scripted model over HTTP, and run configs resolved the
// way the CLI resolves them. (Same ideas as test/helpers/harness.ts, without vitest.)
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { resolveRunConfig } from '../../src/config/load';
import type { RunConfig } from '../../src/config/schema';
import { loadScript, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';
import { dataConverter } from '../../temporal/client/payload-codec';
import { loadRunView } from '../../src/store/run-view-store';
import { ArtifactStore } from '../../src/store/artifact-store';
import { freePort, startDevServer, stopDevServer } from '../../temporal/client/dev-server';
import { rssMiB } from './machine';

const { temporal } = proto; // CommonJS module: named imports do not resolve under ESM

export const BENCH_TASKS = join(ROOT, 'bench', 'fixtures', 'tasks');
const CLI = join(ROOT, 'bin', 'speedrunner.js');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One benchmark's world: its own dev server, home dir, task queue and environment. */
export interface Cluster {
  home: string;
  port: number;
  env: Record<string, string>;
  client: Client;
  /** Workers started for it; killed by stop(). */
  workers: WorkerProcess[];
  stop(): Promise<void>;
}

export async function startCluster(name: string): Promise<Cluster> {
  const home = mkdtempSync(join(tmpdir(), `speedrunner-bench-${name}-`));
  const port = await freePort();
  await startDevServer({
    home: join(home, 'server'),
    port,
    uiPort: await freePort(),
    headless: true,
    retentionDays: 1,
  });
  const env = {
    SPEEDRUNNER_HOME: home,
    SPEEDRUNNER_SERVER_PORT: String(port),
    SPEEDRUNNER_TASK_PATH: BENCH_TASKS,
    SPEEDRUNNER_SCRATCH: join(home, 'scratch'),
    SPEEDRUNNER_TASK_QUEUE: `bench-${name}-${randomBytes(3).toString('hex')}`,
    SPEEDRUNNER_GPU_GRACE: '1 s',
  };
  // Config resolution in this process reads these too (task path, home for the store path, task queue).
  Object.assign(process.env, env);
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  const client = new Client({ connection, namespace: 'default', dataConverter });
  const workers: WorkerProcess[] = [];
  return {
    home,
    port,
    env,
    client,
    workers,
    async stop() {
      for (const w of workers.splice(0)) await w.stop('SIGKILL');
      await connection.close().catch(() => {});
      await stopDevServer(join(home, 'server'));
      if (!process.env.BENCH_KEEP) rmSync(home, { recursive: true, force: true });
    },
  };
}

export interface WorkerProcess {
  pid: number;
  proc: ResultPromise;
  output(): string;
  /** Largest resident set size seen by `sampleRss` (MiB). */
  peakRssMiB: number;
  sampleRss(): number | undefined;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `speedrunner worker control|gpu` and waits for "worker up". */
export async function startWorker(c: Cluster, kind: 'control' | 'gpu', args: string[] = []): Promise<WorkerProcess> {
  const cliArgs = kind === 'gpu' ? ['worker', 'gpu', '--gpus', 'none', ...args] : ['worker', 'control', ...args];
  const proc = execa(process.execPath, [CLI, ...cliArgs], {
    env: { ...process.env, ...c.env },
    reject: false,
    all: true,
    buffer: false,
  });
  let out = '';
  proc.all?.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-20_000)));
  const deadline = Date.now() + 120_000;
  while (!out.includes('worker up')) {
    if (proc.exitCode !== null) throw new Error(`${kind} worker exited at start:\n${out}`);
    if (Date.now() > deadline) throw new Error(`${kind} worker did not come up:\n${out}`);
    await sleep(100);
  }
  const w: WorkerProcess = {
    pid: proc.pid!,
    proc,
    output: () => out,
    peakRssMiB: 0,
    sampleRss() {
      const r = rssMiB(w.pid);
      if (r !== undefined) w.peakRssMiB = Math.max(w.peakRssMiB, r);
      return r;
    },
    async stop(signal = 'SIGTERM') {
      proc.kill(signal);
      await proc.catch(() => {});
    },
  };
  c.workers.push(w);
  return w;
}

export interface TimedScriptedServer extends ScriptedServer {
  /** When each answered request arrived (ms since epoch), with its rule. */
  arrivals: { rule: string; at: number }[];
}

/**
 * The scripted model for the sleep task with `latencyMs` per reply; the coder's reply is expanded into
 * `distinctReplies` numbered replies so that no two versions share code.
 */
export async function startSleepModel(latencyMs: number, distinctReplies = 5000): Promise<TimedScriptedServer> {
  const script = loadScript(join(ROOT, 'bench', 'fixtures', 'scripts', 'sleep.yaml'));
  const rules = script.rules.map((r) => {
    const reply = r.replies[0];
    if (r.name !== 'coder' || typeof reply !== 'string') return r;
    return { ...r, replies: Array.from({ length: distinctReplies }, (_, n) => reply.replace('{n}', String(n))) };
  });
  const server = (await startScriptedServer({ latency_ms: latencyMs, rules })) as TimedScriptedServer;
  server.arrivals = [];
  const push = server.requests.push.bind(server.requests);
  server.requests.push = (...items) => {
    for (const it of items) server.arrivals.push({ rule: it.rule, at: Date.now() });
    return push(...items);
  };
  return server;
}

/** A run config for the sleep task, resolved like `speedrunner run task=sleep …`. */
export function sleepRunConfig(model: ScriptedServer, overrides: string[]): RunConfig {
  return resolveRunConfig(
    ['task=sleep', 'model=scripted', `model.base_url=${model.url}`, 'science_runner=bon', ...overrides],
    process.env,
  );
}

/** Every execution of a workflow id across continue-as-new, oldest first. */
export async function workflowChain(client: Client, workflowId: string): Promise<string[]> {
  const runs: { runId: string; start: number }[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    runs.push({ runId: w.runId, start: w.startTime.getTime() });
  return runs.sort((a, b) => a.start - b.start).map((r) => r.runId);
}

/** Events and encoded bytes of a workflow's whole history (all its continue-as-new links). */
export async function historySize(
  client: Client,
  workflowId: string,
): Promise<{ events: number; bytes: number; executions: number; largestEventBytes: number; largestEventType: string }> {
  let events = 0;
  let bytes = 0;
  let largestEventBytes = 0;
  let largestEventType = '';
  const chain = await workflowChain(client, workflowId);
  for (const runId of chain) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    events += history.events?.length ?? 0;
    bytes += temporal.api.history.v1.History.encode(history).finish().length;
    for (const e of history.events ?? []) {
      const size = temporal.api.history.v1.HistoryEvent.encode(e).finish().length;
      if (size > largestEventBytes) {
        largestEventBytes = size;
        largestEventType = temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);
      }
    }
  }
  return { events, bytes, executions: chain.length, largestEventBytes, largestEventType };
}

/** Spans the sleep script wrote: per tag, [start, end] in ms, in start order. */
export interface Span {
  tag: string;
  pid: number;
  start: number;
  end?: number;
}

export function readSpans(text: string): Span[] {
  const byPid = new Map<string, Span>();
  for (const line of text.split('\n')) {
    const [tag, pid, what, t] = line.trim().split(' ');
    if (!t) continue;
    const key = `${tag}:${pid}`;
    const span = byPid.get(key) ?? { tag, pid: Number(pid), start: NaN };
    if (what === 'start') span.start = Number(t) * 1000;
    if (what === 'end') span.end = Number(t) * 1000;
    byPid.set(key, span);
  }
  return [...byPid.values()].sort((a, b) => a.start - b.start);
}

/** A finished run's executions, from the bench_start/bench_end metrics of its recorded nodes. */
export async function runSpans(config: RunConfig, runId: string): Promise<Span[]> {
  const view = await loadRunView(new ArtifactStore(config.store), runId);
  if (!view) throw new Error(`run ${runId} has no stored view`);
  return view.nodes
    .filter((n) => n.metrics.bench_start !== undefined)
    .map((n) => ({
      tag: runId,
      pid: 0,
      start: n.metrics.bench_start * 1000,
      end: n.metrics.bench_end === undefined ? undefined : n.metrics.bench_end * 1000,
    }))
    .sort((a, b) => a.start - b.start);
}
