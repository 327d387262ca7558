import type { Command } from 'commander';
import { Worker } from '@temporalio/worker';
import { connectClient } from '../../temporal/client/connection';
import { workflowBundlePath } from '../../temporal/workers/bundle';
import { dataConverter } from '../../temporal/client/payload-codec';

/**
 * `speedrunner replay <workflowId>`: replays a run's history against the workflow code on this
 * machine, so an operator learns before upgrading workers whether runs in flight would break.
 */
export function registerReplayCommand(program: Command) {
  program
    .command('replay')
    .argument('<workflowId>')
    .option('--run-id <id>', 'one execution of a continue-as-new chain (default: the latest)')
    .description("replay a run's history against the current workflow code (a determinism check)")
    .action(async (workflowId: string, opts) => {
      const client = await connectClient();
      const history = await client.workflow.getHandle(workflowId, opts.runId).fetchHistory();
      try {
        await Worker.runReplayHistory(
          { workflowBundle: { codePath: await workflowBundlePath() }, dataConverter },
          history,
          workflowId,
        );
      } catch (err) {
        console.error(
          `${workflowId}: does NOT replay on the current code (${(err as Error).name}): ${(err as Error).message.split('\n')[0]}`,
        );
        console.error(
          'Keep the old workers for runs like this one, or guard the change with patched() (see README, Upgrading workers).',
        );
        process.exitCode = 1;
        return;
      }
      console.log(`${workflowId}: replays on the current code (${history.events?.length ?? 0} events)`);
    });
}
