import type { Command } from 'commander';
import type { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { SA } from '../../core/search-attributes';
import { connectClientConnection, describeTarget } from '../../temporal/client/connection';

/** temporal.api.enums.v1.IndexedValueType, the wire values of search attribute types. */
export const IndexedValueType = {
  TEXT: 1,
  KEYWORD: 2,
  INT: 3,
  DOUBLE: 4,
  BOOL: 5,
  DATETIME: 6,
  KEYWORD_LIST: 7,
} as const;
const INDEXED: Partial<Record<SearchAttributeType, number>> = {
  [SearchAttributeType.KEYWORD]: IndexedValueType.KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INT,
  [SearchAttributeType.DOUBLE]: IndexedValueType.DOUBLE,
};
const typeName = (t: number) => Object.entries(IndexedValueType).find(([, v]) => v === t)?.[0] ?? String(t);

export interface NamespaceSetup {
  namespace: string;
  created: boolean;
  retentionDays: number;
  added: string[];
  present: string[];
}

/**
 * Makes a namespace ready for runs: creates it when missing (where the server allows it), sets its
 * retention when asked, and registers the runs' search attributes (those of `speedrunner server
 * start`, see search-attributes.ts). Idempotent: a second call changes nothing. An attribute that
 * exists with another type is an error, never overwritten.
 */
export async function setupNamespace(
  connection: Connection,
  namespace: string,
  opts: { retentionDays?: number; timeoutMs?: number } = {},
): Promise<NamespaceSetup> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let created = false;
  let described = await describe(connection, namespace);
  if (!described) {
    const days = opts.retentionDays ?? 30;
    await connection.workflowService
      .registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(`${days} days`),
        description: 'speedrunner runs',
      })
      .catch((err) => {
        if (grpcCode(err) === ALREADY_EXISTS) return; // created by someone else meanwhile
        throw new Error(
          `namespace '${namespace}' does not exist and could not be created (${(err as Error).message}). Create it with your cluster's tools (Temporal Cloud: the UI or tcld), then run setup-namespace again.`,
        );
      });
    created = true;
    // A new namespace reaches the server's namespace cache a few seconds later.
    described = await retryUntil(deadline, `namespace '${namespace}' to appear`, () => describe(connection, namespace));
  } else if (opts.retentionDays !== undefined) {
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: msToTs(`${opts.retentionDays} days`) },
    });
    described = await describe(connection, namespace);
  }

  const wanted = Object.values(SA).map((k) => ({ name: k.name, type: INDEXED[k.type]! }));
  // A namespace just created is described before every service knows it: NOT_FOUND means "not yet".
  const existing = await retryUntil(deadline, `namespace '${namespace}' to be usable`, () =>
    connection.operatorService.listSearchAttributes({ namespace }).then(
      (r) => r.customAttributes ?? {},
      (err) => {
        if (grpcCode(err) === NOT_FOUND) return undefined;
        throw err;
      },
    ),
  );
  const conflicts = wanted.filter((w) => existing[w.name] !== undefined && existing[w.name] !== w.type);
  if (conflicts.length) {
    const list = conflicts
      .map((c) => `${c.name} is ${typeName(existing[c.name])}, runs need ${typeName(c.type)}`)
      .join('; ');
    throw new Error(
      `namespace '${namespace}' already has search attributes of other types: ${list}. Use another namespace, or remove them first.`,
    );
  }
  const missing = wanted.filter((w) => existing[w.name] === undefined);
  if (missing.length) {
    await retryUntil(deadline, 'search attributes to be accepted', async () => {
      await connection.operatorService
        .addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((m) => [m.name, m.type])) })
        .catch((err) => {
          if (grpcCode(err) === ALREADY_EXISTS) return;
          if (grpcCode(err) === NOT_FOUND) return false as const; // the namespace is not in every cache yet
          throw new Error(
            `could not add search attributes to '${namespace}' (${(err as Error).message}). On Temporal Cloud add them with tcld or the UI: ${missing.map((m) => `${m.name}=${typeName(m.type)}`).join(', ')}`,
          );
        });
      return true;
    });
  }
  // Usable once a visibility query that names every attribute is accepted (it can take ~10 s).
  const probe = wanted
    .map((w) => (w.type === IndexedValueType.KEYWORD ? `${w.name} = ''` : `${w.name} = 0`))
    .join(' AND ');
  let refused = '';
  await retryUntil(deadline, 'search attributes to become usable', () =>
    connection.workflowService.countWorkflowExecutions({ namespace, query: probe }).then(
      () => true,
      (err) => void (refused = (err as Error).message),
    ),
  ).catch((err) => {
    throw new Error(`${(err as Error).message}${refused ? ` (the server still says: ${refused})` : ''}`);
  });
  const retention = described?.config?.workflowExecutionRetentionTtl?.seconds;
  return {
    namespace,
    created,
    retentionDays: Math.round(Number(retention ?? 0) / 86_400),
    added: missing.map((m) => m.name),
    present: wanted.filter((w) => existing[w.name] !== undefined).map((w) => w.name),
  };
}

const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;
const grpcCode = (err: unknown) => (err as { code?: number }).code;

async function describe(connection: Connection, namespace: string) {
  try {
    return await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    if (grpcCode(err) === NOT_FOUND) return undefined;
    throw err;
  }
}

/** Calls `probe` until it gives a value (an error ends the wait at once). */
async function retryUntil<T>(deadline: number, what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function registerSetupNamespaceCommand(program: Command) {
  program
    .command('setup-namespace')
    .description(
      "prepare a Temporal namespace for runs: create it if missing, register the runs' search attributes (idempotent)",
    )
    .option(
      '--retention-days <n>',
      'days finished runs stay visible (default for a new namespace: 30; an existing one keeps its own unless given)',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const retentionDays = opts.retentionDays === undefined ? undefined : Number(opts.retentionDays);
      if (retentionDays !== undefined && !(Number.isInteger(retentionDays) && retentionDays >= 1)) {
        throw new Error(`--retention-days takes a whole number of days, 1 or more (got '${opts.retentionDays}')`);
      }
      const { connection, namespace } = await connectClientConnection();
      try {
        const done = await setupNamespace(connection, namespace, { retentionDays });
        if (opts.json) return console.log(JSON.stringify(done));
        console.log(`Temporal: ${describeTarget()}`);
        console.log(
          `namespace ${namespace}: ${done.created ? 'created' : 'exists'}, retention ${done.retentionDays} days`,
        );
        console.log(
          `search attributes: ${done.added.length ? `added ${done.added.join(', ')}` : 'nothing to add'}${done.present.length ? `; already there: ${done.present.join(', ')}` : ''}`,
        );
        console.log('ready for runs (workers and CLI: same TEMPORAL_* settings)');
      } finally {
        await connection.close();
      }
    });
}
