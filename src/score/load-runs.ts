// Reads what `score` needs of each run from the store: its view and the config the view names.
import type { RunConfig } from '../config/schema';
import type { RunView } from '../../core/types';
import { ArtifactStore } from '../store/artifact-store';
import { loadRunView } from '../store/run-view-store';
import { inParallel } from '../in-parallel';

export interface StoredRun {
  view: RunView;
  config?: RunConfig;
}

/**
 * Each run's view (from the first of its stores that has one) and stored config; undefined for a
 * run no store holds. Configs are read once per hash (sweep cells of one setting share none, but
 * retries and forks do).
 */
export async function loadStoredRuns(
  targets: readonly { runId: string; stores: string[] }[],
  concurrency = 32,
): Promise<(StoredRun | undefined)[]> {
  const stores = new Map<string, ArtifactStore>();
  const storeAt = (root: string) => stores.get(root) ?? stores.set(root, new ArtifactStore(root)).get(root)!;
  const configs = new Map<string, Promise<RunConfig | undefined>>();
  return inParallel(
    targets,
    async (t) => {
      for (const root of t.stores) {
        const store = storeAt(root);
        const view = await loadRunView(store, t.runId);
        if (!view) continue;
        if (!view.configRef) return { view };
        const key = `${root}\n${view.configRef}`;
        if (!configs.has(key))
          configs.set(
            key,
            store.getJson<RunConfig>(view.configRef).catch(() => undefined),
          );
        const config = await configs.get(key);
        return config ? { view, config } : { view };
      }
      return undefined;
    },
    concurrency,
  );
}
