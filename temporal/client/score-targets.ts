// What `speedrunner score` is asked about, as run ids: run ids as given, a sweep's cells, or the runs
// an `ls`-style visibility query matches. Sweeps and queries need the Temporal server; run ids whose
// views are in the store do not.
import type { Client } from '@temporalio/client';
import { ConfigError } from '../../src/config/load';
import { ArtifactStore } from '../../src/store/artifact-store';
import { loadRunView } from '../../src/store/run-view-store';
import { cellRunId, type SweepInput, type SweepResult } from '../../core/sweep-state';
import { SA } from '../../core/search-attributes';
import { connectClient, usesExternalCluster } from './connection';
import { defaultPort, isPortOpen } from './dev-server';
import { readAllCells } from './sweep-submit';

export interface ScoreTarget {
  runId: string;
  /** The store the run's workflow names (memo), when it is not the default one. */
  store?: string;
  /** Hint level from the run's search attributes (only used for views that stored no config). */
  hintLevel?: string;
  /** The sweep or query the run came from, for messages. */
  from?: string;
}

/** A visibility query rather than an id: ids carry no spaces, quotes or comparison signs. */
export const isQuery = (arg: string) => /[\s=<>!'"()]/.test(arg);

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref())]);

/** A client when a server is reachable (bounded in time), else undefined. */
export async function maybeClient(): Promise<Client | undefined> {
  if (!usesExternalCluster() && !(await isPortOpen(defaultPort()))) return undefined;
  try {
    return await withTimeout(connectClient(), 5000);
  } catch {
    return undefined;
  }
}

async function describe(client: Client, id: string) {
  try {
    return await withTimeout(client.workflow.getHandle(id).describe(), 10_000);
  } catch {
    return undefined;
  }
}

/**
 * A sweep's cells as run ids (the latest attempt of each). A completed sweep's result lists them; a
 * running one answers a query (that needs a control worker); without one, each cell's attempts are
 * looked up in the store.
 */
async function sweepCells(
  client: Client,
  sweepId: string,
  memo: { store?: string; inputRef?: string },
  defaultStore: string,
): Promise<ScoreTarget[]> {
  const store = memo.store;
  const from = `sweep ${sweepId}`;
  const handle = client.workflow.getHandle(sweepId);
  const desc = await handle.describe();
  if (desc.status.name === 'COMPLETED') {
    const result = (await handle.result()) as SweepResult;
    return result.outcomes.filter((o) => o.runId).map((o) => ({ runId: o.runId!, store, from }));
  }
  try {
    const { progress } = await readAllCells(client, sweepId);
    return progress.cells.filter((c) => c.runId).map((c) => ({ runId: c.runId!, store, from }));
  } catch {
    if (!store || !memo.inputRef)
      throw new ConfigError(
        `sweep ${sweepId}: its memo names no stored input, and no worker answered its progress query`,
      );
  }
  const artifacts = new ArtifactStore(store);
  const input = await artifacts.getJson<SweepInput>(memo.inputRef!);
  const out: ScoreTarget[] = [];
  const stores = [...new Set([store, defaultStore])].map((s) => new ArtifactStore(s));
  for (const [cell] of input.cells) {
    let latest: string | undefined;
    for (let attempt = 1; attempt <= 20; attempt++) {
      const id = cellRunId(sweepId, cell, attempt);
      let found = false;
      for (const s of stores) if (!found && (await loadRunView(s, id))) found = true;
      if (!found) break;
      latest = id;
    }
    if (latest) out.push({ runId: latest, store, from });
  }
  return out;
}

/** Runs a visibility query matches (speedrun workflows only, as `ls`). */
async function queryRuns(client: Client, query: string): Promise<ScoreTarget[]> {
  const out: ScoreTarget[] = [];
  try {
    for await (const wf of client.workflow.list({ query: `WorkflowType="speedrunWorkflow" AND (${query})` })) {
      const store = (wf.memo as { store?: unknown } | undefined)?.store;
      out.push({
        runId: wf.workflowId,
        store: typeof store === 'string' ? store : undefined,
        hintLevel: wf.typedSearchAttributes.get(SA.HintLevel),
        from: `query ${query}`,
      });
    }
  } catch (err) {
    throw new ConfigError(`query ${JSON.stringify(query)} was refused: ${(err as Error).message}`);
  }
  return out;
}

/**
 * Run ids for `score`'s arguments. `stored(id)` says whether the default store holds a view of a
 * run of that id: such ids need no server. Unknown ids (neither a stored run, nor a workflow, nor a
 * sweep) and queries without a server are ConfigErrors (exit 2).
 */
export async function resolveScoreTargets(
  args: string[],
  opts: {
    defaultStore: string;
    stored: (runId: string) => Promise<boolean>;
    client?: () => Promise<Client | undefined>;
  },
): Promise<{ targets: ScoreTarget[]; client?: Client }> {
  const targets: ScoreTarget[] = [];
  const rest: string[] = [];
  for (const arg of args) {
    if (await opts.stored(arg)) targets.push({ runId: arg });
    else rest.push(arg);
  }
  if (rest.length === 0) return { targets };
  const client = await (opts.client ?? maybeClient)();
  if (!client) {
    const queries = rest.filter(isQuery);
    const ids = rest.filter((a) => !isQuery(a));
    const parts = [
      ...(ids.length
        ? [
            `no stored run ${ids.join(', ')} in ${opts.defaultStore} (sweep ids need the Temporal server, which is not reachable)`,
          ]
        : []),
      ...(queries.length ? [`queries need the Temporal server, which is not reachable: ${queries.join('; ')}`] : []),
    ];
    throw new ConfigError(parts.join('; '));
  }
  const unknown: string[] = [];
  for (const arg of rest) {
    if (isQuery(arg)) {
      targets.push(...(await queryRuns(client, arg)));
      continue;
    }
    const d = await describe(client, arg);
    const memo = (d?.memo ?? {}) as { store?: string; inputRef?: string };
    if (d?.type === 'sweepWorkflow') targets.push(...(await sweepCells(client, arg, memo, opts.defaultStore)));
    else if (d) targets.push({ runId: arg, store: memo.store, hintLevel: d.typedSearchAttributes.get(SA.HintLevel) });
    else unknown.push(arg);
  }
  if (unknown.length) {
    await closeClient(client);
    throw new ConfigError(
      `unknown run or sweep id${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: no stored view in ${opts.defaultStore}, and no workflow of that id on the server`,
    );
  }
  return { targets, client };
}

export async function closeClient(client: Client | undefined) {
  await client?.connection.close().catch(() => {});
}

/** Hint levels from search attributes of runs whose views stored no config (older runs). */
export async function temporalHintLevels(client: Client | undefined, runIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!client) return out;
  for (const id of runIds) {
    const d = await describe(client, id);
    const hint = d?.typedSearchAttributes.get(SA.HintLevel);
    if (hint) out.set(id, hint);
  }
  return out;
}
