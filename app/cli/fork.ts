import type { Command } from 'commander';
import { ConfigError } from '../../src/config/load';
import { forkState, runConfigOf } from '../../temporal/client/fork';
import { readRun } from '../../temporal/client/run-client';
import { connectClient } from '../../temporal/client/connection';
import { runCommand } from './run';

/** `speedrunner fork <runId> --node <id> [key=value…]`: resume the search from any node, in a new run. */
export function registerForkCommand(program: Command) {
  program
    .command('fork')
    .argument('<runId>', 'the run to fork (running, finished, failed or terminated)')
    .argument('[overrides...]', 'config changes for the new run (model=…, hint_level=…, science_runner=…)')
    .requiredOption('--node <id>', 'the node whose code version and ancestry the new run starts from')
    .option('--detach', 'print the new run id and return')
    .option('--json', 'machine-readable output')
    .description("start a new run from a node of an earlier run, with that node's lineage as its first versions")
    .action(async (runId: string, overrides: string[], opts) => {
      const nodeId = Number(opts.node);
      if (!Number.isInteger(nodeId) || nodeId < 0) throw new ConfigError(`--node takes a node id (a whole number), not '${opts.node}'`);
      if (overrides.some((o) => /^store=/.test(o))) throw new ConfigError('a fork shares its source run\'s store (its versions live there); store= cannot change');
      const client = await connectClient();
      const config = await runConfigOf(client, runId);
      const { view } = await readRun(client, runId, config.store);
      await runCommand(overrides, opts, { config, carried: forkState(view, nodeId, config.seed) });
    });
}
