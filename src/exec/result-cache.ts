import type { ArtifactStore } from '../store/artifact-store';
import { canonicalJson, sha256 } from '../store/hash';
import type { ExecuteInput } from './execute-version';
import type { ExecutionResult } from './result';
import { DEFAULT_MAX_OUTPUT_MB } from '../config/task';

/**
 * Identifies what an execution measures: the code version, everything about how the task runs it, and
 * its data. Two executions with the same key measure the same thing, so a Temporal reset or a replayed
 * activity reuses the measured result instead of burning GPU hours again.
 */
export function executionKey(input: ExecuteInput): string {
  const { launcher, args, entry_fname, environment, gpus_per_execution, timeout_s, env, max_output_mb } = input.task;
  // The output cap changes what a flooding version measures; at its default it leaves keys as they were.
  const cap = max_output_mb !== DEFAULT_MAX_OUTPUT_MB ? { max_output_mb } : {};
  return sha256(
    canonicalJson({
      snapshot: input.snapshot,
      launcher,
      args,
      entry_fname,
      environment,
      gpus_per_execution,
      timeout_s,
      env,
      ...cap,
      data: input.data,
    }),
  );
}

const ref = (key: string) => `exec/${key}`;

/** A measured execution as it was kept: the whole result, its harness clock included. */
export async function cachedExecution(store: ArtifactStore, key: string): Promise<ExecutionResult | undefined> {
  const hash = await store.getRef(ref(key));
  return hash && (await store.hasBlob(hash)) ? store.getJson<ExecutionResult>(hash) : undefined;
}

/** Keeps a finished execution's result; a cancelled one measured nothing and is not kept. */
export async function saveExecution(store: ArtifactStore, key: string, result: ExecutionResult) {
  if (result.outcome !== 'cancelled') await store.setRef(ref(key), await store.putJson(result));
}
