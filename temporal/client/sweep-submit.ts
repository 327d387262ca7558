// Client side of sweeps: resolve and store every cell's config, start or attach to the sweep, read
// its progress, retry cells. The CLI and the start-up benchmark call these.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { ConfigError, ConfigFiles, resolveRunConfig } from '../../src/config/load';
import type { RunConfig } from '../../src/config/schema';
import { hasPollers } from './run-client';
import { ArtifactStore } from '../../src/store/artifact-store';
import { cellName, expandMatrix, loadSweepFile } from '../../src/sweep/spec';
import {
  cellsToRetry,
  MAX_PAGE,
  outcomesForRestart,
  queueRetry,
  type CellOutcome,
  type CellRow,
  type SweepInput,
  type SweepProgress,
  type SweepResult,
} from '../../core/sweep-state';
import { progressQuery, retryUpdate, sweepWorkflow } from '../workflows/sweep';

/** Above this the workflow input (≈110 bytes a cell) nears Temporal's payload limits. */
export const MAX_CELLS = 10_000;
const QUERY_TIMEOUT_MS = 20_000;

export interface PreparedSweep {
  sweepId: string;
  input: SweepInput;
  /** Hash of `input` in the store: a restart after completion reads it from there. */
  inputRef: string;
}

/** Resolves and validates every cell (a bad one is a ConfigError naming it), then stores the configs. */
export async function prepareSweep(file: string, env: NodeJS.ProcessEnv = process.env): Promise<PreparedSweep> {
  const { spec, id: sweepId } = loadSweepFile(file);
  const matrix = expandMatrix(spec);
  if (matrix.length > MAX_CELLS)
    throw new ConfigError(
      `sweep ${file} has ${matrix.length} cells; at most ${MAX_CELLS} fit one sweep: split the matrix`,
    );
  const files = new ConfigFiles(); // every cell reads the same few YAML files: parse each once
  const configs: RunConfig[] = matrix.map((cell) => {
    try {
      return { ...resolveRunConfig(cell.overrides, env, undefined, files), sweep_id: sweepId };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const at = Object.entries(cell.values)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      throw new ConfigError(`sweep ${file}, cell ${at || '(defaults)'}: ${err.message}`);
    }
  });
  const names = configs.map((c) =>
    cellName({
      task: c.task.id,
      model: c.model.id,
      science_runner: c.science_runner.id,
      hint_level: c.hint_level,
      seed: c.seed,
    }),
  );
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup)
    throw new ConfigError(
      `sweep ${file}: two cells resolve to the same settings (${dup}); list each matrix value once`,
    );
  const { store, task_queue } = configs[0];
  if (configs.some((c) => c.store !== store || c.task_queue !== task_queue))
    throw new ConfigError(`sweep ${file}: every cell must use one store and task queue`);

  const artifacts = new ArtifactStore(store);
  const refs: string[] = [];
  for (let i = 0; i < configs.length; i += 64)
    refs.push(...(await Promise.all(configs.slice(i, i + 64).map((c) => artifacts.putJson(c)))));
  const input: SweepInput = {
    store,
    taskQueue: task_queue,
    concurrency: spec.concurrency,
    continueAsNewEvery: spec.continue_as_new_every,
    cells: names.map((n, i) => [n, refs[i]]),
  };
  return { sweepId, input, inputRef: await artifacts.putJson(input) };
}

const sweepMemo = (p: PreparedSweep) => ({ store: p.input.store, inputRef: p.inputRef, cells: p.input.cells.length });

async function describeSweep(client: Client, sweepId: string) {
  try {
    return await client.workflow.getHandle(sweepId).describe();
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
    throw err;
  }
}

const finishedMessage = (sweepId: string, status: string) =>
  `sweep ${sweepId} already ran (${status}); nothing new was started. See \`speedrunner sweep status ${sweepId}\`, or rerun cells with \`speedrunner sweep retry ${sweepId} --failed\``;

/**
 * Starts the sweep, or attaches to it when it is running already (same id: the same file). A sweep
 * that has closed is not started again (that would re-run its cells): the error says what to do.
 */
export async function submitSweep(client: Client, p: PreparedSweep): Promise<{ attached: boolean; differs: boolean }> {
  const before = await describeSweep(client, p.sweepId);
  if (before && before.status.name !== 'RUNNING') throw new Error(finishedMessage(p.sweepId, before.status.name));
  try {
    await client.workflow.start(sweepWorkflow, {
      workflowId: p.sweepId,
      taskQueue: p.input.taskQueue,
      args: [p.input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      memo: sweepMemo(p),
      staticSummary: `sweep · ${p.input.cells.length} cells · concurrency ${p.input.concurrency}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Error(finishedMessage(p.sweepId, 'closed'));
    throw err;
  }
  const attached = before?.status.name === 'RUNNING';
  return {
    attached,
    differs: attached && (before!.memo as { inputRef?: string } | undefined)?.inputRef !== p.inputRef,
  };
}

/** Queries need a worker: say so plainly instead of timing out. */
async function requireWorker(client: Client, sweepId: string) {
  const desc = await describeSweep(client, sweepId);
  if (!desc) throw new Error(`no sweep ${sweepId} on this server`);
  if (!(await hasPollers(client, desc.taskQueue))) {
    throw new Error(
      `sweep ${sweepId} is ${desc.status.name}, but no worker polls its control queue '${desc.taskQueue}', so its progress cannot be read; start one with \`speedrunner worker control\``,
    );
  }
  return desc;
}

/** One page of progress (bounded), with the sweep's execution status. */
export async function readProgress(client: Client, sweepId: string, args: Parameters<typeof progressPage>[2] = {}) {
  const desc = await requireWorker(client, sweepId);
  return { status: desc.status.name, progress: await progressPage(client, sweepId, args) };
}

/** The poller list lags behind dead workers: a query nobody answers in time is reported as such. */
async function progressPage(
  client: Client,
  sweepId: string,
  args: { status?: CellOutcome['status']; offset?: number; limit?: number },
): Promise<SweepProgress> {
  try {
    return await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
      client.workflow.getHandle(sweepId).query(progressQuery, args),
    );
  } catch (err) {
    const chain: string[] = [];
    for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
      chain.push(String(e.message));
    if (/deadline|no poller seen/i.test(chain.join(' | '))) {
      throw new Error(
        `no worker answered the progress query of sweep ${sweepId} (its control queue has no live poller); start one with \`speedrunner worker control\``,
      );
    }
    throw err;
  }
}

/** Every cell, page by page. */
export async function readAllCells(
  client: Client,
  sweepId: string,
): Promise<{ status: string; progress: SweepProgress }> {
  const { status, progress } = await readProgress(client, sweepId, { limit: MAX_PAGE });
  const cells: CellRow[] = [...progress.cells];
  for (let next = progress.next_offset; next !== undefined;) {
    const page = await progressPage(client, sweepId, { offset: next, limit: MAX_PAGE });
    cells.push(...page.cells);
    next = page.next_offset;
  }
  return { status, progress: { ...progress, cells, next_offset: undefined } };
}

/**
 * Retry: an Update on a running sweep. A closed sweep is started again under its id with the outcomes
 * it reached (from its result, or, when it did not complete, its last state through a query) and the
 * named cells queued; their children get fresh ids (`#<attempt>`), so nothing finished is re-run.
 */
export async function retrySweep(
  client: Client,
  sweepId: string,
  req: { cells?: string[]; failed?: boolean },
): Promise<{ how: 'update' | 'restart'; cells: string[] }> {
  const desc = await describeSweep(client, sweepId);
  if (!desc) throw new Error(`no sweep ${sweepId} on this server`);
  const handle = client.workflow.getHandle<typeof sweepWorkflow>(sweepId);
  if (desc.status.name === 'RUNNING') {
    try {
      return { how: 'update', cells: await handle.executeUpdate(retryUpdate, { args: [req] }) };
    } catch (err) {
      throw new Error(`retry refused: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
    }
  }
  const memo = (desc.memo ?? {}) as { store?: string; inputRef?: string };
  if (!memo.store || !memo.inputRef)
    throw new Error(`workflow ${sweepId} is not a sweep started by speedrunner (its memo names no stored input)`);
  const input = await new ArtifactStore(memo.store).getJson<SweepInput>(memo.inputRef);
  let outcomes: CellOutcome[];
  if (desc.status.name === 'COMPLETED') outcomes = ((await handle.result()) as SweepResult).outcomes;
  else
    outcomes = outcomesForRestart((await readAllCells(client, sweepId)).progress.cells.map(({ cell: _c, ...o }) => o));
  const names = input.cells.map(([n]) => n);
  const picked = cellsToRetry(names, outcomes, req);
  if (!picked.length) return { how: 'restart', cells: [] };
  queueRetry(outcomes, picked);
  await client.workflow.start(sweepWorkflow, {
    workflowId: sweepId,
    taskQueue: input.taskQueue,
    args: [{ ...input, outcomes }],
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    memo: { store: memo.store, inputRef: memo.inputRef, cells: input.cells.length },
    staticSummary: `sweep · ${input.cells.length} cells · concurrency ${input.concurrency} · retry of ${picked.length}`,
  });
  return { how: 'restart', cells: picked.map((i) => names[i]) };
}
