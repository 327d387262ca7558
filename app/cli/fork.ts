import type { Command } from 'commander';
import { ConfigError } from '../../src/config/load';
import { forkState, runConfigOf } from '../../temporal/client/fork';
import { readRun } from '../../temporal/client/run-client';
import { connectClient } from '../../temporal/client/connection';
import { runCommand } from './run';
import { parseNodeId } from './node-id';
import type { RunView } from '../../core/types';

/** `speedrunner fork <runId> --node <id> [key=value…]`: resume the search from any node, in a new run. */
export function registerForkCommand(program: Command) {
  program
    .command('fork')
    .argument('<runId>', 'the run to fork (running, finished, failed or terminated)')
    .argument('[overrides...]', 'config changes for the new run (model=…, hint_level=…, science_runner=…)')
    .requiredOption('--node <id>', 'the node whose code version and ancestry the new run starts from (2 or v_2)')
    .option('--detach', 'print the new run id and return')
    .option(
      '--gpus <ids>',
      "GPU ids for the workers this command starts, as for run (default SPEEDRUNNER_GPUS or 'none')",
    )
    .option('--json', 'machine-readable output')
    .description("start a new run from a node of an earlier run, with that node's lineage as its first versions")
    .action(async (runId: string, overrides: string[], opts) => {
      const nodeId = parseNodeId(opts.node, '--node');
      if (overrides.some((o) => /^store=/.test(o)))
        throw new ConfigError("a fork shares its source run's store (its versions live there); store= cannot change");
      const client = await connectClient();
      const config = await runConfigOf(client, runId);
      const { view } = await readRun(client, runId, config.store);
      const carried = forkState(view, nodeId, config.seed);
      // The lineage is renumbered v_0..v_k in the new run: say which old version each new one is.
      const mapping = lineageIds(view, nodeId)
        .map((old, i) => `v_${old} -> v_${i}`)
        .join(', ');
      (opts.json || opts.detach ? console.error : console.log)(`versions from ${runId}: ${mapping}`);
      await runCommand(overrides, opts, { config, carried });
    });
}

/** The ids from the root down to `nodeId`, in the order the fork numbers them. */
export function lineageIds(view: RunView, nodeId: number): number[] {
  const parentOf = new Map(view.nodes.map((n) => [n.id, n.parent]));
  const ids: number[] = [];
  for (let cur: number | null | undefined = nodeId; cur !== null && cur !== undefined; cur = parentOf.get(cur))
    ids.unshift(cur);
  return ids;
}
