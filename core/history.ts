// What of the tree travels to an agent step: the parent and the relevant history, each cut down to
// what the prompts use, so an activity's input stays a few KB however long the run.
import type { NodeRecord } from './types';

export type NodeBrief = Pick<
  NodeRecord,
  | 'id'
  | 'parent'
  | 'stage'
  | 'plan'
  | 'status'
  | 'valid'
  | 'reason'
  | 'metrics'
  | 'summary'
  | 'snapshot'
  | 'logRef'
  | 'private_metrics'
>;

const HISTORY_LIMIT = 12;
/** Ancestors of the parent always kept (the coder shows up to 3 buggy ones: src/agent/prompts.ts). */
const LINEAGE_KEPT = 3;
const PLAN_CHARS = 160;
const REASON_CHARS = 300;

export function briefOf(n: NodeRecord): NodeBrief {
  const { id, parent, stage, plan, status, valid, reason, metrics, summary, snapshot, logRef, private_metrics } = n;
  return {
    id,
    parent,
    stage,
    status,
    valid,
    metrics,
    plan: plan.split('\n')[0].slice(0, PLAN_CHARS),
    ...(reason !== undefined ? { reason: reason.slice(0, REASON_CHARS) } : {}),
    ...(summary !== undefined ? { summary } : {}),
    ...(snapshot !== undefined ? { snapshot } : {}),
    ...(logRef !== undefined ? { logRef } : {}),
    ...(private_metrics !== undefined ? { private_metrics } : {}),
  };
}

/**
 * What the agent is shown of the tree: the parent's ancestors, its buggy descendants and its other
 * children, ordered by version number and bounded to the most recent; the parent's nearest
 * LINEAGE_KEPT ancestors are kept whatever the bound, since the coder's bug history is read from them.
 */
export function relevantHistory(nodes: NodeRecord[], parent: NodeRecord): NodeBrief[] {
  const ids = new Set<number>();
  const lineage: number[] = [];
  for (let cur: NodeRecord | undefined = parent; cur; cur = cur.parent === null ? undefined : nodes[cur.parent]) {
    ids.add(cur.id);
    if (lineage.length <= LINEAGE_KEPT) lineage.push(cur.id);
  }
  const below = new Set([parent.id]);
  for (const n of nodes) {
    if (n.parent === null || !below.has(n.parent) || n.status === 'pending') continue;
    if (n.parent === parent.id || !n.valid) ids.add(n.id); // its children, and buggy versions further down
    if (!n.valid) below.add(n.id);
  }
  const kept = new Set([...lineage, ...[...ids].sort((a, b) => a - b).slice(-HISTORY_LIMIT)]);
  return [...kept].sort((a, b) => a - b).map((id) => briefOf(nodes[id]));
}
