import type { Command } from 'commander';
import { connectClient } from '../../temporal/client/connection';
import { SA } from '../../core/search-attributes';
import { runFailure } from '../../temporal/client/run-failure';

/** `speedrunner ls [query]`: runs filtered by the same visibility query the Temporal UI takes. */
export function registerListCommand(program: Command) {
  program
    .command('ls')
    .argument('[query]', 'a visibility query over our search attributes, e.g. \'Task="collatz" AND Phase="executing"\'')
    .option('--limit <n>', 'at most this many runs, newest first', '50')
    .option('--json', 'machine-readable output')
    .description('list runs, newest first')
    .action(async (query: string | undefined, opts) => {
      const client = await connectClient();
      const filter = `WorkflowType="speedrunWorkflow"${query ? ` AND (${query})` : ''}`;
      const rows = [];
      for await (const wf of client.workflow.list({ query: filter })) {
        const sa = wf.typedSearchAttributes;
        rows.push({
          runId: wf.workflowId,
          status: wf.status.name,
          task: sa.get(SA.Task) ?? null,
          model: sa.get(SA.Model) ?? null,
          science_runner: sa.get(SA.ScienceRunner) ?? null,
          phase: sa.get(SA.Phase) ?? null,
          iteration: sa.get(SA.Iteration) ?? null,
          best_metric: sa.get(SA.BestMetric) ?? null,
          started_at: wf.startTime.toISOString(),
          failure: (await runFailure(client, wf.workflowId, wf.status.name)) ?? null,
        });
        if (rows.length >= Number(opts.limit)) break;
      }
      if (opts.json) return console.log(JSON.stringify(rows));
      for (const r of rows)
        console.log(
          `${r.runId}\t${r.status}\t${r.task}\t${r.phase}\titeration=${r.iteration}\tbest=${r.best_metric ?? '-'}${r.failure ? `\t${r.failure}` : ''}`,
        );
    });
}
