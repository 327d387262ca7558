// What the control worker's activities (control.ts, agent.ts) share: the run's config, named by its
// hash in the store and read once per worker, and a heartbeat while a model call is in flight.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RunConfig } from '../../src/config/schema';
import { NonRetryableLlmError } from '../../src/llm/providers';
import { ArtifactStore } from '../../src/store/artifact-store';
import { heartbeatEveryMs } from './heartbeat';

/** Names a run's config without carrying it: activities load it from the store by hash. */
export interface RunRef {
  runId: string;
  store: string;
  configRef: string;
}

const configs = new Map<string, RunConfig>();

function remember(configRef: string, config: RunConfig) {
  if (configs.size > 256) configs.clear();
  configs.set(configRef, config);
}

/** Stores a run's config by its hash (remembered here, so the activities that name it next need not read it back). */
export async function storeConfig(config: RunConfig): Promise<{ store: ArtifactStore; configRef: string }> {
  const store = new ArtifactStore(config.store);
  const configRef = await store.putJson(config);
  remember(configRef, config);
  return { store, configRef };
}

export async function openRun(run: RunRef): Promise<{ store: ArtifactStore; config: RunConfig }> {
  const store = new ArtifactStore(run.store);
  let config = configs.get(run.configRef);
  if (!config) {
    config = await store.getJson<RunConfig>(run.configRef);
    remember(run.configRef, config);
  }
  return { store, config };
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
