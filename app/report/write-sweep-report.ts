import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { RunView } from '../../core/types';
import { pageScript } from './assets';
import { StoredLog } from '../../src/metrics/stored-log';
import type { ArtifactStore } from '../../src/store/artifact-store';
import { trainingCurve, type TrainingCurve } from './training-curves';
import { readRunForReport } from './read-run';
import type { SweepReadout } from './read-sweep';
import { cellReportDir, cellValues, sweepReportData } from './sweep-report-data';
import { writePage, writeRunReport, type WrittenReport } from './write-report';

/** The training curve of the run's best version, read from its stored log; undefined without one. */
async function bestCurve(view: RunView, store: ArtifactStore): Promise<TrainingCurve | undefined> {
  const ref = view.best ? view.nodes.find((n) => n.id === view.best!.id)?.logRef : undefined;
  return ref ? trainingCurve(await StoredLog.read(store, ref)) : undefined;
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function eachLimit<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/**
 * The sweep's page (table and heat map of outcomes per cell) and, under `runs/<cell>/`, the report
 * of every cell that has a run. A cell whose run cannot be read keeps its row, with the reason.
 */
export async function writeSweepReport(
  client: Client,
  sweep: SweepReadout,
  outDir: string,
): Promise<WrittenReport & { runs: number }> {
  await rm(join(outDir, 'runs'), { recursive: true, force: true });
  const views: (RunView | undefined)[] = [];
  const reports: (string | undefined)[] = [];
  const errors: (string | undefined)[] = [];
  const curves: (TrainingCurve | undefined)[] = [];
  let total = 0;
  let files = 0;
  await eachLimit(sweep.cells, 4, async ({ cell, outcome }, i) => {
    if (!outcome.runId) return;
    try {
      const { input, store } = await readRunForReport(client, outcome.runId, sweep.store.root);
      const written = await writeRunReport(input, store, join(outDir, cellReportDir(cell)));
      views[i] = input.view;
      curves[i] = await bestCurve(input.view, store);
      reports[i] = `${cellReportDir(cell)}/index.html`;
      total += written.total_bytes;
      files += written.files;
    } catch (err) {
      errors[i] = `no run report: ${(err as Error).message}`;
    }
  });
  const data = sweepReportData({
    sweepId: sweep.sweepId,
    status: sweep.status,
    source: sweep.source,
    concurrency: sweep.concurrency,
    cells: sweep.cells.map(({ cell, outcome, config }, i) => ({
      cell,
      outcome: errors[i] && !outcome.error ? { ...outcome, error: errors[i] } : outcome,
      values: cellValues(config),
      view: views[i],
      report: reports[i],
      best_curve: curves[i],
    })),
  });
  const page = await writePage(
    outDir,
    { title: `${sweep.sweepId} · speedrunner sweep report`, js: pageScript('sweep'), data },
    new Map(),
  );
  return {
    ...page,
    total_bytes: page.total_bytes + total,
    files: page.files + files,
    runs: reports.filter(Boolean).length,
  };
}
