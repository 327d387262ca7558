// Activities of the frozen v1 loop (workflows/speedrun-v1.ts), kept under their v1 names and inputs so
// runs in flight from before the v2 loop finish. Delete with that file once none is left.
import type { RunConfig } from '../../src/config/schema';
import type * as steps from '../../src/agent/steps';
import type { ExecutionReport } from '../../src/agent/steps';
import type { NodeRecord, RunView } from '../../core/types';
import * as current from './control';

export async function prepareRoot(config: RunConfig): Promise<string> {
  return (await current.prepareRun(config)).root;
}

const runOf = async (runId: string, config: RunConfig) => ({ runId, store: config.store, configRef: (await current.prepareRun(config, { snapshotRoot: false })).configRef });

export async function ideate(input: steps.AgentStepInput) {
  const { config, ...rest } = input;
  return current.proposeHypothesis({ ...rest, run: await runOf(input.runId, config) });
}

export async function code(input: steps.AgentStepInput & { planRef: string }) {
  const { config, ...rest } = input;
  return current.writeVersion({ ...rest, run: await runOf(input.runId, config) });
}

export async function analyze(config: RunConfig, execution: ExecutionReport) {
  return current.analyzeVersion({ run: await runOf('v1', config), nodeId: -1, exec: execution });
}

export async function recordNode(config: RunConfig, summary: Omit<RunView, 'nodes' | 'updated_at'>, node?: NodeRecord) {
  return current.recordProgress({ run: await runOf(summary.runId, config), summary, node });
}
