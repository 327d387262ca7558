// A sweep: one child run (speedrunWorkflow) per cell of a matrix, at most `concurrency` at once.
// Children have deterministic ids (`<sweepId>/<cell>`, a retry `#<attempt>`), a failed cell does not
// fail the sweep, and outcomes are kept small and carried across continue-as-new.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { SweepActivities } from './run-context';
import { runStartOptions } from '../../core/start-options';
import {
  cellRunId,
  cellsToRetry,
  countStatuses,
  failureMessage,
  progressView,
  queueRetry,
  type CellOutcome,
  type ProgressArgs,
  type RetryRequest,
  type SweepInput,
  type SweepProgress,
  type SweepResult,
} from '../../core/sweep-state';
import type { speedrunWorkflow } from './speedrun';
import { sweepActivityOptions } from './activity-options';

/** Counts, totals and one bounded page of cells (filter by status, page with offset/limit). */
export const progressQuery = defineQuery<SweepProgress, [ProgressArgs?]>('progress');
/** Run finished cells again (by name, or every failed one); answers with the cells queued. */
export const retryUpdate = defineUpdate<string[], [RetryRequest]>('retry');

export async function sweepWorkflow(input: SweepInput): Promise<SweepResult> {
  const sweepId = workflowInfo().workflowId;
  const names = input.cells.map(([name]) => name);
  const outcomes: CellOutcome[] = input.outcomes ?? input.cells.map(() => ({ status: 'pending', attempt: 1 }));
  const { loadCellConfig } = proxyActivities<SweepActivities>(sweepActivityOptions(input.taskQueue));

  setHandler(progressQuery, (args) => progressView(sweepId, input, outcomes, args));
  setHandler(
    retryUpdate,
    (req) => {
      const picked = cellsToRetry(names, outcomes, req);
      queueRetry(outcomes, picked);
      return picked.map((i) => names[i]);
    },
    { validator: (req) => void cellsToRetry(names, outcomes, req) },
  );

  let running = 0;
  let startedHere = 0;
  const pendingIndex = () => outcomes.findIndex((o) => o.status === 'pending');
  const showDetails = () => {
    const c = countStatuses(outcomes);
    setCurrentDetails(
      `${c.completed} completed · ${c.failed} failed · ${c.running} running · ${c.pending} pending of ${outcomes.length}`,
    );
  };

  const runCell = async (i: number) => {
    const [cell, configRef] = input.cells[i];
    const o: CellOutcome = {
      status: 'running',
      attempt: outcomes[i].attempt,
      runId: cellRunId(sweepId, cell, outcomes[i].attempt),
      started_at: new Date().toISOString(),
    };
    outcomes[i] = o;
    showDetails();
    try {
      const config = await loadCellConfig(input.store, configRef);
      const child = await startChild<typeof speedrunWorkflow>('speedrunWorkflow', {
        workflowId: o.runId,
        taskQueue: config.task_queue,
        args: [{ config }],
        ...runStartOptions(config, { cell }),
      });
      const r = await child.result();
      Object.assign(o, {
        status: 'completed',
        ...(r.best ? { best_metric: r.best.metric } : {}),
        ...(r.fsr !== undefined ? { fsr: r.fsr } : {}),
        cost_usd: r.usage.cost_usd,
        ...(r.gpu_seconds !== undefined ? { gpu_seconds: r.gpu_seconds } : {}),
        ...(r.stopped ? { stopped: r.stopped } : {}),
      });
    } catch (err) {
      // A failed cell is recorded, never rethrown: the sweep goes on with the other cells.
      Object.assign(o, { status: 'failed', error: failureMessage(err) });
    } finally {
      o.finished_at = new Date().toISOString();
      running--;
      showDetails();
    }
  };

  // Continue-as-new only between children: a child's result can be awaited only by the run that started it.
  const rollOver = () => startedHere >= input.continueAsNewEvery || workflowInfo().continueAsNewSuggested;
  showDetails();
  for (;;) {
    await condition(
      () =>
        (running < input.concurrency && !rollOver() && pendingIndex() >= 0) ||
        (running === 0 && (pendingIndex() < 0 || rollOver())),
    );
    if (running === 0 && pendingIndex() < 0) {
      await condition(allHandlersFinished); // a retry accepted just now queues cells: go on with them
      if (pendingIndex() < 0) break;
      continue;
    }
    if (running === 0 && rollOver()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof sweepWorkflow>({ ...input, outcomes });
    }
    const i = pendingIndex();
    running++;
    startedHere++;
    void runCell(i);
  }
  return { sweepId, counts: countStatuses(outcomes), outcomes };
}
