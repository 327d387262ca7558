import { ArtifactStore } from '../../src/store/artifact-store';

/** How activities reach the store a run names (a location: a path or s3:// URL); tests may pass their own. */
export type OpenStore = (location: string) => ArtifactStore;
export const openArtifactStore: OpenStore = (location) => new ArtifactStore(location);
