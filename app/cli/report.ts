import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from '@temporalio/client';
import { ConfigError } from '../../src/config/load';
import { homeDir } from '../../src/paths';
import { readRunForReport } from '../report/read-run';
import { readSweep } from '../report/read-sweep';
import { writeRunReport, type WrittenReport } from '../report/write-report';
import { writeSweepReport } from '../report/write-sweep-report';
import { connectClient } from '../../temporal/client/connection';

/** `speedrunner report <runId|sweepId> --out <dir>`: a static HTML report that opens from the file system. */
export function registerReportCommand(program: Command) {
  program
    .command('report')
    .argument('<id>', 'a run id or a sweep id (running or finished)')
    .option(
      '--out <dir>',
      'where to write index.html and the files it links to (default: <SPEEDRUNNER_HOME>/reports/<id>)',
    )
    .option('--json', 'machine-readable output')
    .description(
      "write a self-contained HTML report: a run's search tree, diffs, logs, metrics and cost, or a sweep's outcome per cell",
    )
    .action(async (id: string, opts: { out?: string; json?: boolean }) => {
      const out = resolve(opts.out ?? join(homeDir(), 'reports', id.replace(/[^A-Za-z0-9_.-]+/g, '_')));
      if (existsSync(out) && !statSync(out).isDirectory())
        throw new ConfigError(`--out ${out} is a file; give a directory (it gets index.html and logs/)`);
      const started = Date.now();
      const client = await connectClient().catch(() => undefined);
      const written = await writeReport(client, id, out);
      const ms = Date.now() - started;
      const url = pathToFileURL(written.index).href;
      if (opts.json) return console.log(JSON.stringify({ id, ...written, ms, url }));
      const runs = written.kind === 'sweep' ? `, ${written.runs} run reports` : '';
      console.log(
        `report of ${written.kind} ${id}: ${written.index} (${kb(written.page_bytes)} page, ${kb(written.total_bytes)} in all${runs}; ${ms} ms)`,
      );
      if (written.source === 'store') console.log("(no worker answered: read from the run's stored snapshot)");
      console.log(`open: ${url}`);
    });
}

const kb = (bytes: number) => `${Math.ceil(bytes / 1024)} KB`;

type Written = WrittenReport & { kind: 'run' | 'sweep'; source: string; status: string; runs?: number };

/** A sweep's report when `id` names a sweep workflow, else a run's (also with no server: from the store). */
export async function writeReport(client: Client | undefined, id: string, out: string): Promise<Written> {
  const type = client
    ? await client.workflow
        .getHandle(id)
        .describe()
        .then(
          (d) => d.type,
          () => undefined,
        )
    : undefined;
  if (client && type === 'sweepWorkflow') {
    const sweep = await readSweep(client, id);
    return {
      kind: 'sweep',
      ...(await writeSweepReport(client, sweep, out)),
      source: sweep.source,
      status: sweep.status,
    };
  }
  const { input, store } = await readRunForReport(client, id, join(homeDir(), 'store'));
  return { kind: 'run', ...(await writeRunReport(input, store, out)), source: input.source, status: input.status };
}
