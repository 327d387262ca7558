import type { Client } from '@temporalio/client';
import type { RunConfig } from '../../src/config/schema';
import { ArtifactStore } from '../../src/store/artifact-store';
import { readAllCells } from '../../temporal/client/sweep-submit';
import { cellRunId, type CellOutcome, type SweepInput, type SweepResult } from '../../core/sweep-state';
import type { SweepReportData } from './sweep-report-data';

export interface SweepReadout {
  sweepId: string;
  status: string;
  source: SweepReportData['source'];
  store: ArtifactStore;
  concurrency: number;
  cells: { cell: string; outcome: CellOutcome; config: RunConfig }[];
}

/**
 * A sweep's cells and outcomes: through its `progress` query when a worker answers, from its result
 * when it completed, else rebuilt from its child runs (each attempt's id is `<sweepId>/<cell>#n`).
 * Cell configs come from the store (the sweep's memo names its stored input).
 */
export async function readSweep(client: Client, sweepId: string): Promise<SweepReadout> {
  const handle = client.workflow.getHandle(sweepId);
  const desc = await handle.describe();
  const memo = (desc.memo ?? {}) as { store?: string; inputRef?: string };
  if (!memo.store || !memo.inputRef)
    throw new Error(`workflow ${sweepId} is not a sweep started by speedrunner (its memo names no stored input)`);
  const store = new ArtifactStore(memo.store);
  const input = await store.getJson<SweepInput>(memo.inputRef);
  const configs = await Promise.all(input.cells.map(([, ref]) => store.getJson<RunConfig>(ref)));
  const status = desc.status.name;

  let source: SweepReadout['source'] = 'query';
  let outcomes: CellOutcome[];
  try {
    const { progress } = await readAllCells(client, sweepId);
    const byName = new Map(progress.cells.map(({ cell, ...o }) => [cell, o]));
    outcomes = input.cells.map(([name]) => byName.get(name) ?? { status: 'pending', attempt: 1 });
  } catch {
    if (status === 'COMPLETED') {
      source = 'result';
      outcomes = ((await handle.result()) as SweepResult).outcomes;
    } else {
      source = 'runs';
      outcomes = await outcomesFromRuns(
        client,
        sweepId,
        input.cells.map(([n]) => n),
      );
    }
  }
  return {
    sweepId,
    status,
    source,
    store,
    concurrency: input.concurrency,
    cells: input.cells.map(([cell], i) => ({ cell, outcome: outcomes[i], config: configs[i] })),
  };
}

const RUN_STATUS: Record<string, CellOutcome['status']> = { RUNNING: 'running', COMPLETED: 'completed' };

/** Each cell's latest attempt among the child runs the server knows (the input does not keep attempts). */
async function outcomesFromRuns(client: Client, sweepId: string, cells: string[]): Promise<CellOutcome[]> {
  return Promise.all(
    cells.map(async (cell) => {
      let found: CellOutcome = { status: 'pending', attempt: 1 };
      for (let attempt = 1; attempt <= 20; attempt++) {
        const runId = cellRunId(sweepId, cell, attempt);
        const d = await client.workflow
          .getHandle(runId)
          .describe()
          .catch(() => undefined);
        if (!d) break;
        found = {
          status: RUN_STATUS[d.status.name] ?? 'failed',
          attempt,
          runId,
          started_at: d.startTime.toISOString(),
          ...(d.closeTime ? { finished_at: d.closeTime.toISOString() } : {}),
        };
      }
      return found;
    }),
  );
}
