// `speedrunner fork`: a new run that starts from any node of an earlier one (finished, failed or
// terminated alike), with its lineage as the new run's first versions.
import type { Client } from '@temporalio/client';
import type { RunConfig } from '../../src/config/schema';
import { noUsage } from '../../core/usage';
import { decodePayload } from './payload-codec';
import type { NodeRecord, RunView } from '../../core/types';
import type { CarriedState } from '../../core/run-state';
import type { RunInput } from '../workflows/speedrun';

/** The earlier run's config, from the input of its latest execution (a continue-as-new chain's last). */
export async function runConfigOf(client: Client, runId: string): Promise<RunConfig> {
  const history = await client.workflow.getHandle(runId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload)
    throw new Error(`run ${runId} has no readable start event (its history may have passed the namespace's retention)`);
  return ((await decodePayload(client, payload)) as RunInput).config;
}

/**
 * The state a fork starts with: the chosen node's ancestry renumbered v_0..v_k (root first), each
 * with its code, measurements and log, and that node as the one the next iteration works from.
 */
export function forkState(view: RunView, nodeId: number, seed: number): CarriedState {
  const byId = new Map(view.nodes.map((n) => [n.id, n]));
  const from = byId.get(nodeId);
  if (!from) throw new Error(`run ${view.runId} has no node ${nodeId} (it has ${view.nodes.length} nodes)`);
  if (from.status === 'pending')
    throw new Error(`v_${nodeId} of ${view.runId} is still being measured; fork it once it is recorded`);
  const lineage: NodeRecord[] = [];
  for (let cur: NodeRecord | undefined = from; cur; cur = cur.parent === null ? undefined : byId.get(cur.parent))
    lineage.unshift(cur);
  const nodes = lineage.map(({ previous: _previous, ...n }, i) => ({
    ...n,
    id: i,
    parent: i === 0 ? null : i - 1,
    iteration: 0,
  }));
  return {
    nodes,
    iteration: 0,
    rng: seed >>> 0,
    usage: noUsage(),
    current: nodes.length - 1,
    measured: [],
    forked_from: { runId: view.runId, nodeId },
  };
}
