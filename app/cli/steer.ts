import type { Command } from 'commander';
import { connectClient } from '../../temporal/client/connection';
import { parseNodeId } from './node-id';
import {
  extendUpdate,
  pauseSignal,
  resumeSignal,
  retryNodeUpdate,
  stopSignal,
} from '../../temporal/workflows/speedrun';

const handle = async (runId: string) => (await connectClient()).workflow.getHandle(runId);

/** Steering a live run; each is a signal or update, so the Temporal UI can send the same. */
export function registerSteeringCommands(program: Command) {
  const signals = [
    ['pause', pauseSignal, 'hold the run before its next step: no new LLM call or execution (one in flight finishes)'],
    ['resume', resumeSignal, 'let a paused run go on'],
  ] as const;
  for (const [name, signal, description] of signals) {
    program
      .command(name)
      .argument('<runId>')
      .description(description)
      .action(async (runId) => {
        await (await handle(runId)).signal(signal);
        console.log(`${name} sent to ${runId}`);
      });
  }
  program
    .command('stop')
    .argument('<runId>')
    .option('--reason <text>', 'recorded with the run')
    .description('finish the node in flight, then complete the run with what exists')
    .action(async (runId, opts) => {
      await (await handle(runId)).signal(stopSignal, opts.reason);
      console.log(`stop sent to ${runId}`);
    });
  program
    .command('extend')
    .argument('<runId>')
    .requiredOption('--iterations <n>', 'iterations to add')
    .description('give a running run more iterations')
    .action(async (runId, opts) => {
      const total = await (await handle(runId)).executeUpdate(extendUpdate, { args: [Number(opts.iterations)] });
      console.log(`${runId} now runs ${total} iterations`);
    });
  program
    .command('retry-node')
    .argument('<runId>')
    .argument('<nodeId>', 'the version to measure again: 2 or v_2')
    .description(
      "execute a node's code version again, bypassing the result cache; the new result is recorded beside the old",
    )
    .action(async (runId, nodeId) => {
      console.log(await (await handle(runId)).executeUpdate(retryNodeUpdate, { args: [parseNodeId(nodeId)] }));
    });
}
