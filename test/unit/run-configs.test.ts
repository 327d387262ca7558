import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunConfigs } from '../../temporal/activities/run-context';
import { ArtifactStore } from '../../src/store/artifact-store';
import type { RunConfig } from '../../src/config/schema';

// The control worker's run configs: an object the worker owns and hands to its activities.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-run-configs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A store whose config reads are counted. */
function countingStore() {
  const store = new ArtifactStore(join(dir, 'store'));
  const reads: string[] = [];
  const getJson = store.getJson.bind(store);
  store.getJson = (async (hash: string) => {
    reads.push(hash);
    return getJson(hash);
  }) as typeof store.getJson;
  return { store, reads, openStore: () => store };
}

const config = (seed: number) => ({ store: join(dir, 'store'), seed }) as unknown as RunConfig;

describe('RunConfigs', () => {
  it('a stored config is known without a read; one stored elsewhere is read once per worker', async () => {
    const { store, reads, openStore } = countingStore();
    const mine = new RunConfigs(openStore);
    const { configRef } = await mine.put(config(1));
    expect((await mine.open({ runId: 'r', store: store.location, configRef })).config).toEqual(config(1));
    expect(reads).toEqual([]);

    const other = new RunConfigs(openStore); // another worker: nothing shared
    const ref = { runId: 'r', store: store.location, configRef };
    expect((await other.open(ref)).config).toEqual(config(1));
    expect((await other.open(ref)).config).toEqual(config(1));
    expect(reads).toEqual([configRef]);
  });

  it('holds at most `limit` configs: past it, it starts over and reads again', async () => {
    const { store, reads, openStore } = countingStore();
    const writer = new RunConfigs(openStore);
    const refs = [];
    for (const seed of [1, 2, 3]) refs.push((await writer.put(config(seed))).configRef);
    const configs = new RunConfigs(openStore, 2);
    for (const configRef of [...refs, refs[0]]) await configs.open({ runId: 'r', store: store.location, configRef });
    expect(reads).toEqual([...refs, refs[0]]);
  });
});
