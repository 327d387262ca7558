import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeRecord, RunView } from '../../core/types';
import type { ArtifactStore } from './artifact-store';

const viewRef = (runId: string) => `runs/${runId.replace(/[^A-Za-z0-9_.-]/g, '_')}/view`;

export async function loadRunView(store: ArtifactStore, runId: string): Promise<RunView | undefined> {
  const hash = await store.getRef(viewRef(runId));
  return hash ? store.getJson<RunView>(hash) : undefined;
}

/**
 * Upserts one node into the run's stored view and refreshes its summary, so `status` and `tree` work
 * without a worker; also lays the node's code out as `<workspace_dir>/<runId>/v_<n>/` for people.
 * Idempotent: recording the same node twice leaves the same view.
 */
export async function recordNode(
  store: ArtifactStore,
  workspaceDir: string,
  summary: Omit<RunView, 'nodes' | 'updated_at'>,
  node: NodeRecord | undefined,
  configRef?: string,
): Promise<void> {
  const prev = await loadRunView(store, summary.runId);
  const nodes = [...(prev?.nodes ?? [])];
  if (node) {
    const at = nodes.findIndex((n) => n.id === node.id);
    if (at >= 0) nodes[at] = node;
    else nodes.push(node);
    nodes.sort((a, b) => a.id - b.id);
  }
  const ref = configRef || prev?.configRef;
  const view: RunView = { ...summary, ...(ref ? { configRef: ref } : {}), nodes, updated_at: new Date().toISOString() };
  await store.setRef(viewRef(summary.runId), await store.putJson(view));
  if (node?.snapshot) {
    const runDir = join(workspaceDir, summary.runId);
    await store.materialize(node.snapshot, join(runDir, `v_${node.id}`));
    if (node.logRef) {
      await mkdir(join(runDir, 'logs'), { recursive: true });
      await writeFile(join(runDir, 'logs', `v_${node.id}.log`), await store.getBlob(node.logRef));
    }
  }
}
