import type { Command } from 'commander';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { hasPollers } from '../../temporal/client/run-client';
import { prepareSweep, readAllCells, retrySweep, submitSweep } from '../../temporal/client/sweep-submit';
import type { CellRow, SweepProgress } from '../../core/sweep-state';
import { connectClient, connectWorkerConnection, usesExternalCluster } from '../../temporal/client/connection';
import { startDevServer } from '../../temporal/client/dev-server';
import { sweepWorkflow } from '../../temporal/workflows/sweep';
import { createWorker, parseGpus } from './worker';
import { startSweepProgress } from './progress';
import { spawnBackgroundWorkers, uiLine, uiUrl } from './run';

/** `speedrunner sweep <file>`, `sweep status <id>`, `sweep retry <id>`. */
export function registerSweepCommands(program: Command) {
  const sweep = program
    .command('sweep')
    .description(
      'run a matrix of runs (task × model × science_runner × hint_level × seed) from a YAML file; see docs/sweeps.md',
    )
    .argument('[file]', 'sweep file (YAML)')
    .option('--detach', 'print the sweep id and return; the sweep goes on in the workers')
    .option('--json', 'machine-readable output')
    .option('--gpus <ids>', "GPU ids for the in-process GPU worker (embedded mode), or 'none'")
    .action(async (file: string | undefined, opts) => {
      if (!file) return void sweep.help();
      await submitCommand(file, opts);
    });
  sweep
    .command('status')
    .argument('<sweepId>')
    .option('--json', 'machine-readable output')
    .description("a sweep's progress: every cell's status, best metric, FSR, cost and GPU time")
    .action(async (sweepId: string, opts) => {
      const { status, progress } = await readAllCells(await connectClient(), sweepId);
      // `--json` after the id is taken by `sweep`'s own option of the same name.
      if (opts.json || sweep.opts().json) return console.log(JSON.stringify({ status, ...progress }));
      printProgress(status, progress);
    });
  sweep
    .command('retry')
    .argument('<sweepId>')
    .option('--cell <name...>', 'cells to run again')
    .option('--failed', 'every failed cell')
    .description(
      'run finished cells again (an update of a running sweep; a finished sweep is started again with its outcomes)',
    )
    .action(async (sweepId: string, opts) => {
      const r = await retrySweep(await connectClient(), sweepId, { cells: opts.cell, failed: opts.failed });
      if (!r.cells.length) return console.log('no cell to retry');
      console.log(
        `${r.how === 'update' ? 'queued in the running sweep' : 'sweep started again'}: ${r.cells.join(', ')}`,
      );
    });
}

async function submitCommand(file: string, opts: { detach?: boolean; json?: boolean; gpus?: string }) {
  const prepared = await prepareSweep(file); // every cell resolved and validated before anything starts
  const say = opts.json ? (_: string) => {} : (s: string) => console.log(s);
  const external = usesExternalCluster();
  if (!external) await startDevServer();
  const client = await connectClient();
  const { sweepId, input } = prepared;

  const workers: Worker[] = [];
  if (!opts.detach && !external) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const { connection, namespace } = await connectWorkerConnection();
    workers.push(
      await createWorker('control', connection, namespace, []),
      await createWorker('gpu', connection, namespace, parseGpus(opts.gpus ?? process.env.SPEEDRUNNER_GPUS ?? 'none')),
    );
  }
  const { attached, differs } = await submitSweep(client, prepared);
  if (differs)
    console.error(`warning: sweep ${sweepId} is running from a different version of ${file}; attached to it as it is`);
  if (opts.detach) {
    if (!(await hasPollers(client, input.taskQueue))) {
      if (external)
        console.error(
          `warning: no worker polls the control queue '${input.taskQueue}': start \`speedrunner worker control\` and \`speedrunner worker gpu\``,
        );
      else spawnBackgroundWorkers(opts.gpus ?? process.env.SPEEDRUNNER_GPUS ?? 'none');
    }
    if (opts.json)
      return console.log(JSON.stringify({ sweepId, attached, cells: input.cells.length, ui: uiUrl(sweepId) ?? null }));
    return console.log(`${sweepId}${attached ? ' (attached to the running sweep)' : ''}\n${uiLine(sweepId)}`);
  }
  say(
    `sweep ${sweepId} ${attached ? 'is running already: attached' : 'started'} (${input.cells.length} cells, concurrency ${input.concurrency})\n${uiLine(sweepId)}`,
  );

  const handle = client.workflow.getHandle<typeof sweepWorkflow>(sweepId);
  const result = handle.result();
  // On a terminal, a live line (cells n/N, spend, the training step in flight) under the count lines.
  const live = opts.json ? undefined : startSweepProgress(client, sweepId);
  let done = false;
  const watch = (async () => {
    let last = '';
    result.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await Promise.race([result.catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
      const line = await readAllCells(client, sweepId).then(
        ({ progress: p }) => countsLine(p),
        () => last,
      );
      if (line !== last) (live?.log ?? say)((last = line));
    }
    return result;
  })();
  const outcome = await (
    workers.length
      ? Promise.all([watch, ...workers.map((w) => w.runUntil(watch.catch(() => undefined)))]).then(([o]) => o)
      : watch
  ).finally(() => live?.stop());
  if (opts.json) {
    const rows = outcome.outcomes.map((o, i) => ({ cell: input.cells[i][0], ...o }));
    return console.log(JSON.stringify({ sweepId, status: 'COMPLETED', counts: outcome.counts, cells: rows }));
  }
  for (const [i, o] of outcome.outcomes.entries()) say(cellLine({ cell: input.cells[i][0], ...o }));
  say(`sweep ${sweepId} completed: ${outcome.counts.completed} completed, ${outcome.counts.failed} failed`);
}

const countsLine = (p: SweepProgress) =>
  `completed ${p.counts.completed} · failed ${p.counts.failed} · running ${p.counts.running} · pending ${p.counts.pending} of ${p.total} · cost $${p.cost_usd.toFixed(4)} · GPU ${p.gpu_seconds} s`;

function cellLine(c: CellRow): string {
  const parts = [
    c.cell,
    c.status,
    c.attempt > 1 ? `attempt ${c.attempt}` : '',
    c.best_metric !== undefined ? `best=${c.best_metric}` : '',
    c.fsr !== undefined ? `fsr=${c.fsr}` : '',
  ];
  parts.push(
    c.cost_usd !== undefined ? `$${c.cost_usd.toFixed(4)}` : '',
    c.gpu_seconds !== undefined ? `gpu=${c.gpu_seconds}s` : '',
    c.stopped ? `stopped: ${c.stopped}` : '',
  );
  parts.push(c.error ? `error: ${c.error}` : (c.runId ?? ''));
  return parts.filter(Boolean).join('\t');
}

function printProgress(status: string, p: SweepProgress) {
  console.log(`sweep ${p.sweepId}: ${status} · ${p.total} cells · concurrency ${p.concurrency}`);
  console.log(countsLine(p));
  for (const c of p.cells) console.log(cellLine(c));
}
