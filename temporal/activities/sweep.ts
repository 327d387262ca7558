// Activities of sweeps (control queue): a cell's resolved config, stored by the CLI at submit time.
import type { RunConfig } from '../../src/config/schema';
import { ArtifactStore } from '../../src/store/artifact-store';

/** The run config of one cell; the sweep workflow carries only its hash. */
export async function loadCellConfig(store: string, configRef: string): Promise<RunConfig> {
  return new ArtifactStore(store).getJson<RunConfig>(configRef);
}
