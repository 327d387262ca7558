import { Command } from 'commander';
import { ConfigError, listGroup, loadTask, referenceNotes, resolveRunConfig } from '../../src/config/load';
import { homeDir, ROOT } from '../../src/paths';
import { readFileSync } from 'node:fs';
import { controlQueue } from '../../core/task-queue';
import { join } from 'node:path';
import {
  readServerInfo,
  startDevServer,
  stopDevServer,
  isAlive,
  isPortOpen,
  defaultPort,
  defaultUiPort,
} from '../../temporal/client/dev-server';
import { runCommand } from './run';
import { printRun } from './inspect';
import { runWorker } from './worker';
import { registerTasksImportCommand } from './tasks-import';
import { registerDataCommands } from './data';
import { registerScoreCommand } from './score';
import { registerSteeringCommands } from './steer';
import { registerListCommand } from './list-runs';
import { registerForkCommand } from './fork';
import { registerReplayCommand } from './replay';
import { registerSetupNamespaceCommand } from './setup-namespace';
import { registerSweepCommands } from './sweep';
import { registerReportCommand } from './report';
import { registerDeploymentCommands } from './deployment';
import { registerAuditCommand } from './audit';
import { registerIntegrityCommands } from './integrity';
import { rootCause } from './errors';

const program = new Command('speedrunner')
  .description('Durable harness for the Automated LLM Speedrunning Benchmark, on Temporal')
  .version(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version, '-V, --version', 'print the version')
  .showHelpAfterError();

const server = program.command('server').description('the embedded Temporal dev server');
server
  .command('start')
  .description(`start the dev server (detached, SQLite under .speedrunner/, UI on :${defaultUiPort()})`)
  .option('--retention-days <n>', 'days finished runs stay visible', '30')
  .action(async (opts) => {
    const info = await startDevServer({ retentionDays: Number(opts.retentionDays) });
    console.log(
      info.started
        ? `started Temporal dev server (pid ${info.pid})`
        : `a Temporal server already answers on ${info.address}`,
    );
    printServer(info);
  });
server
  .command('stop')
  .description('stop the dev server this checkout started (its SQLite file is kept)')
  .action(async () => console.log((await stopDevServer()) ? 'stopped' : 'no server started by speedrunner is running'));
server
  .command('status')
  .description('whether the dev server answers, and its address, UI, pid and database')
  .option('--json', 'machine-readable output')
  .action(async (opts) => {
    const info = readServerInfo();
    const up = await isPortOpen(defaultPort());
    const out = {
      running: up,
      address: `127.0.0.1:${defaultPort()}`,
      ui: info?.ui,
      pid: info && isAlive(info.pid) ? info.pid : null,
      db: info?.db ?? join(homeDir(), 'temporal.db'),
    };
    if (opts.json) return console.log(JSON.stringify(out));
    console.log(up ? 'running' : 'not running');
    printServer(out);
  });

function printServer(s: { address: string; ui?: string; pid?: number | null; db?: string }) {
  console.log(`address: ${s.address}\nUI: ${s.ui ?? '-'}\npid: ${s.pid ?? '-'}\ndb: ${s.db ?? '-'}`);
}

const worker = program.command('worker').description('long-lived workers');
worker
  .command('control')
  .description(`workflows + LLM and workspace activities (queue ${controlQueue()})`)
  .action(() => runWorker('control', {}));
worker
  .command('gpu')
  .description(`training executions (queue ${controlQueue()}-gpu)`)
  .option('--gpus <ids>', "GPU ids this worker owns, e.g. 0,1,2,3, or 'none' for a CPU-only host", 'none')
  .option('--slots <n>', 'executions at once of tasks that need no GPU (e.g. on a CPU-only host)', '1')
  .option(
    '--check',
    'list which known tasks this host can run (python, torch, GPUs) and exit; exit code 1 if some cannot',
  )
  .option('--json', 'with --check: machine-readable output')
  .option(
    '--sandbox <mode>',
    'isolation of agent-written code: auto (warn if unavailable), strict (refuse), off; docs/sandbox.md',
  )
  .option('--network', 'let executions reach the network (default: none)')
  .action((opts) => runWorker('gpu', opts));

program
  .command('run')
  .description('run a search: speedrunner run task=<id> model=<id> science_runner=<id> n_iterations=<n> [key=value…]')
  .argument('[overrides...]', 'Hydra-style key=value overrides (dotted paths for nested keys)')
  .option('--detach', 'print the run id and return; the run goes on in the workers')
  .option(
    '--gpus <ids>',
    "GPU ids for the workers this command starts (in-process, or in the background with --detach), e.g. 0,1,2,3; default SPEEDRUNNER_GPUS or 'none'",
  )
  .option('--json', 'machine-readable output')
  .action((overrides, opts) => runCommand(overrides, opts));

const config = program.command('config').description('configuration');
config
  .command('show')
  .argument('[overrides...]')
  .description('print the fully resolved config as JSON')
  .action((overrides) => {
    // Reference (Hydra) spellings are resolved; what each became goes to stderr, the JSON stays clean.
    for (const note of referenceNotes(overrides)) console.error(`note: ${note}`);
    console.log(JSON.stringify(resolveRunConfig(overrides), null, 2));
  });

program
  .command('status')
  .argument('<runId>')
  .option('--json', 'machine-readable output')
  .description("a run's state (live through a query, or from its stored snapshot when no worker is up)")
  .action((runId, opts) => printRun(runId, { json: opts.json, tree: false }));
program
  .command('tree')
  .argument('<runId>')
  .option('--json', 'machine-readable output')
  .description("a run's search tree")
  .action((runId, opts) => printRun(runId, { json: opts.json, tree: true }));

const tasks = program.command('tasks').description('tasks, built-in and imported');
tasks
  .command('list')
  .description('the tasks a run can name (task=<id>), with the first line of each description')
  .option('--json', 'machine-readable output')
  .action((opts) => {
    // One broken task file must not hide the others: it is reported on stderr and skipped.
    const all = listGroup('task').flatMap((e) => {
      try {
        return [loadTask(e.id)];
      } catch (err) {
        console.error(`warning: skipping task '${e.id}' (${e.file}): ${(err as Error).message}`);
        return [];
      }
    });
    if (opts.json)
      return console.log(
        JSON.stringify(all.map((t) => ({ id: t.id, description: t.description.split('\n')[0], root: t.root }))),
      );
    for (const t of all) console.log(`${t.id}\t${t.description.split('\n')[0]}`);
  });
tasks
  .command('show')
  .argument('<id>')
  .description("a task's resolved config as JSON (metric, bounds, timeouts, GPUs, files)")
  .action((id) => console.log(JSON.stringify(loadTask(id), null, 2)));

registerTasksImportCommand(program);
registerDataCommands(program);
registerScoreCommand(program);
registerDeploymentCommands(program);
registerSteeringCommands(program);
registerListCommand(program);
registerForkCommand(program);
registerReplayCommand(program);
registerSetupNamespaceCommand(program);
registerSweepCommands(program);
registerReportCommand(program);
registerAuditCommand(program);
registerIntegrityCommands(program);

// Exit once the command is done: open connections and the in-process scripted model would keep us alive.
program.parseAsync(process.argv).then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    if (err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      process.exit(2);
    }
    console.error(`error: ${err instanceof Error ? rootCause(err) : err}`);
    process.exit(1);
  },
);
