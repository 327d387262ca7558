// What the control worker's activities (control.ts, agent.ts, sweep.ts) share: the run's config, named
// by its hash in the store and read once per worker, and a heartbeat while a model call is in flight.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RunConfig } from '../../src/config/schema';
import { NonRetryableLlmError } from '../../src/llm/providers';
import type { ArtifactStore } from '../../src/store/artifact-store';
import { heartbeatEveryMs } from './heartbeat';
import { openArtifactStore, type OpenStore } from './open-store';

/** Names a run's config without carrying it: activities load it from the store by hash. */
export interface RunRef {
  runId: string;
  store: string;
  configRef: string;
}

/**
 * Run configs by their hash, owned by one control worker: every activity of a run names its config by
 * hash, so each is read from the store once, not once per call. Bounded: past `limit` it starts over.
 */
export class RunConfigs {
  private readonly known = new Map<string, RunConfig>();

  constructor(
    readonly openStore: OpenStore = openArtifactStore,
    private readonly limit = 256,
  ) {}

  /** Stores a run's config by its hash (remembered, so the activities that name it next need not read it back). */
  async put(config: RunConfig): Promise<{ store: ArtifactStore; configRef: string }> {
    const store = this.openStore(config.store);
    const configRef = await store.putJson(config);
    this.remember(configRef, config);
    return { store, configRef };
  }

  /** The store a run names and its config. */
  async open(run: RunRef): Promise<{ store: ArtifactStore; config: RunConfig }> {
    const store = this.openStore(run.store);
    return { store, config: await this.read(store, run.configRef) };
  }

  private async read(store: ArtifactStore, configRef: string): Promise<RunConfig> {
    const known = this.known.get(configRef);
    if (known) return known;
    const config = await store.getJson<RunConfig>(configRef);
    this.remember(configRef, config);
    return config;
  }

  private remember(configRef: string, config: RunConfig) {
    if (this.known.size >= this.limit) this.known.clear();
    this.known.set(configRef, config);
  }
}

/** Heartbeats while `work` runs, so a dead worker is noticed within the heartbeat timeout, not the call's. */
export async function withHeartbeat<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), heartbeatEveryMs(ctx));
  try {
    return await work(ctx.cancellationSignal);
  } catch (err) {
    if (err instanceof NonRetryableLlmError) throw ApplicationFailure.nonRetryable(err.message, 'NonRetryableLlmError');
    throw err;
  } finally {
    clearInterval(timer);
  }
}
