// The workflow tier: the real workflow bundle on the suite's real Temporal dev server, with in-memory
// activities that record every call. Tests wait on those records and on queries, never on sleeps.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { inject } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { resolveRunConfig } from '../../src/config/load';
import type { RunConfig } from '../../src/config/schema';
import { ROOT } from '../../src/paths';
import { noUsage } from '../../core/usage';
import type { NodeStatus, RunView } from '../../core/types';
import { dataConverter } from '../../temporal/client/payload-codec';
import { workflowBundlePath } from '../../temporal/workers/bundle';
import { speedrunWorkflow, stateQuery, type RunInput, type RunResult } from '../../temporal/workflows/speedrun';
import { gpuQueue } from '../../core/search-attributes';

export interface Call {
  name: string;
  nodeId?: number;
  rerun?: boolean;
  /** Order of the call among all calls of the run. */
  seq: number;
}

/** What a version measures: its metric and status, or a failed write. */
export interface Outcome {
  metric?: number;
  status?: NodeStatus;
  writeFails?: string;
  /** Static integrity rules the written diff breaks. */
  violations?: { rule: string; detail: string }[];
  /** Dollars the analysis of this version costs (budgets). */
  costUsd?: number;
  /** Device time of its execution. */
  wallMs?: number;
}

/** A gate an execution waits at until the test opens it. */
export class Gate {
  private opened = false;
  private waiters: (() => void)[] = [];
  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }
  wait(): Promise<void> {
    return this.opened ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}

export class StubActivities {
  readonly calls: Call[] = [];
  /** Executions wait here, per node id, when a gate is set for them. */
  readonly gates = new Map<number, Gate>();
  private planCount = 0;

  constructor(
    private readonly outcomeOf: (nodeId: number, rerun: boolean) => Outcome = (id) => ({ metric: 100 - id }),
  ) {}

  count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }

  private note(name: string, nodeId?: number, rerun?: boolean) {
    this.calls.push({ name, nodeId, ...(rerun ? { rerun } : {}), seq: this.calls.length });
  }

  control() {
    return {
      prepareRun: async (_config: RunConfig) => {
        this.note('prepareRun');
        return { configRef: 'config-ref', root: 'root-snapshot' };
      },
      proposeHypothesis: async (input: { nodeId: number }) => {
        this.note('proposeHypothesis', input.nodeId);
        const plan = `plan ${++this.planCount}`;
        return { plan, planRef: `plan-ref-${this.planCount}`, usage: noUsage(), llm_ms: 1 };
      },
      writeVersion: async (input: { nodeId: number }) => {
        this.note('writeVersion', input.nodeId);
        const { writeFails, violations } = this.outcomeOf(input.nodeId, false);
        return writeFails
          ? { error: writeFails, attempts: 1, usage: noUsage(), llm_ms: 1 }
          : {
              snapshot: `snapshot-${input.nodeId}`,
              ...(violations ? { violations } : {}),
              attempts: 1,
              usage: noUsage(),
              llm_ms: 1,
            };
      },
      analyzeVersion: async (input: { nodeId: number; exec: { logRef: string; rerun?: boolean } }) => {
        this.note('analyzeVersion', input.nodeId);
        const o = this.outcomeOf(input.nodeId, input.exec.logRef.endsWith('#rerun'));
        const status = o.status ?? 'ok';
        const ok = status === 'ok' && o.metric !== undefined;
        return {
          status,
          valid: ok,
          ...(ok ? {} : { reason: `stub outcome ${status}` }),
          metrics: o.metric === undefined ? {} : { harness_wall_ms: o.metric },
          private_metrics: {},
          usage: { ...noUsage(), cost_usd: o.costUsd ?? 0, calls: o.costUsd ? 1 : 0 },
          llm_ms: 1,
          flags: [],
        };
      },
      recordProgress: async (input: { node?: { id: number } }) => {
        this.note('recordProgress', input.node?.id);
      },
    };
  }

  gpu() {
    return {
      execute: async (input: { nodeId: number; rerun?: boolean }) => {
        this.note('execute', input.nodeId, input.rerun);
        await this.gates.get(input.nodeId)?.wait();
        const o = this.outcomeOf(input.nodeId, Boolean(input.rerun));
        return {
          outcome: 'ok',
          exitCode: 0,
          wallMs: o.wallMs ?? 10,
          logRef: `log-${input.nodeId}${input.rerun ? '#rerun' : ''}`,
        };
      },
    };
  }
}

export interface StartOptions {
  id?: string;
  /** Run on this task queue, whose workers the test started with `workers` (default: fresh queues and workers). */
  taskQueue?: string;
}

export interface WorkflowTier {
  env: TestWorkflowEnvironment;
  /** Starts a run with in-process workers over `stubs` (or on `taskQueue`'s); resolves once it is started. */
  start(stubs: StubActivities, overrides: string[], opts?: StartOptions): Promise<RunHandle>;
  /** A control and a GPU worker over `stubs` on `taskQueue`, with extra control-worker options. */
  workers(stubs: StubActivities, taskQueue: string, extra?: Partial<WorkerOptions>, withGpu?: boolean): Promise<Worker>;
  teardown(): Promise<void>;
}

export interface RunHandle {
  handle: WorkflowHandleWithFirstExecutionRunId<typeof speedrunWorkflow>;
  config: RunConfig;
  finished: () => Promise<RunResult>;
  state: () => Promise<RunState>;
}

type RunState = Omit<RunView, 'nodes'> & { nodes: number };

export async function workflowTier(): Promise<WorkflowTier> {
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: `127.0.0.1:${inject('temporalPort')}`,
    client: { dataConverter },
  });
  const codePath = await workflowBundlePath();
  const running: { worker: Worker; done: Promise<void> }[] = [];
  const started: { stubs: StubActivities; handle: WorkflowHandle }[] = [];
  const workers: WorkflowTier['workers'] = async (stubs, taskQueue, extra = {}, withGpu = true) => {
    const control = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      dataConverter,
      workflowBundle: { codePath },
      activities: stubs.control(),
      ...extra,
    });
    const gpu = withGpu
      ? [
          await Worker.create({
            connection: env.nativeConnection,
            taskQueue: gpuQueue(taskQueue),
            dataConverter,
            activities: stubs.gpu(),
          }),
        ]
      : [];
    for (const worker of [control, ...gpu]) running.push({ worker, done: worker.run() });
    return control;
  };
  return {
    env,
    workers,
    async start(stubs, overrides, opts = {}) {
      const taskQueue = opts.taskQueue ?? `wf-${randomBytes(4).toString('hex')}`;
      const config = {
        ...resolveRunConfig(['task=collatz', 'model=scripted', ...overrides], process.env),
        task_queue: taskQueue,
      };
      if (!opts.taskQueue) await workers(stubs, taskQueue);
      const workflowId = opts.id ?? `wf-${randomBytes(4).toString('hex')}`;
      const handle = await env.client.workflow.start(speedrunWorkflow, {
        taskQueue,
        workflowId,
        args: [{ config } satisfies RunInput],
      });
      started.push({ stubs, handle });
      return {
        handle,
        config,
        finished: () => handle.result(),
        state: () => handle.query(stateQuery),
      };
    },
    async teardown() {
      // A failed test may leave a run waiting at a gate: end it, so the workers can shut down.
      for (const { stubs, handle } of started) {
        for (const gate of stubs.gates.values()) gate.open();
        await handle.terminate('workflow-tier teardown').catch(() => {});
      }
      for (const { worker } of running) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.all(running.map((r) => r.done.catch(() => {})));
      await env.teardown();
    },
  };
}

/** The message an update's validator or handler failed with. */
export async function updateRejection(update: Promise<unknown>): Promise<string> {
  try {
    await update;
  } catch (err) {
    return (err as { cause?: Error }).cause?.message ?? (err as Error).message;
  }
  throw new Error('the update was accepted');
}

/** Polls `probe` (a query or the recorded calls) until it holds. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * With SPEEDRUNNER_RECORD_HISTORIES=1, saves a finished run's history (compact JSON, gzipped) under
 * test/histories/, where the replay test checks that later workflow code still replays it.
 */
export async function maybeRecordHistory(run: RunHandle, name: string): Promise<void> {
  if (process.env.SPEEDRUNNER_RECORD_HISTORIES !== '1') return;
  const history = await run.handle.fetchHistory();
  const dir = join(ROOT, 'test', 'histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json.gz`), gzipSync(JSON.stringify(JSON.parse(historyToJSON(history)))));
}
