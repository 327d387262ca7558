// Activities of sweeps (control queue): a cell's resolved config, stored by the CLI at submit time.
import type { RunConfig } from '../../src/config/schema';
import { openArtifactStore, type OpenStore } from './open-store';

export const createSweepActivities = ({ openStore = openArtifactStore }: { openStore?: OpenStore } = {}) => ({
  /** The run config of one cell; the sweep workflow carries only its hash (read once: not kept in the worker's run configs). */
  async loadCellConfig(store: string, configRef: string): Promise<RunConfig> {
    return openStore(store).getJson<RunConfig>(configRef);
  },
});
