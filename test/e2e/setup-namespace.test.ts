import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { loadScript, startScriptedServer } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';
import { SA } from '../../core/search-attributes';
import proto from '@temporalio/proto';
import { cli, makeEnv, startWorker, stopWorker, trackCleanups, waitFor, type TestEnv } from '../helpers/harness';

// `speedrunner setup-namespace` against the suite's real dev server, on namespaces made for each test,
// and a run driven entirely by Temporal's environment-configuration variables (cluster mode).
const onCleanup = trackCleanups();
// The SDK's own enum (not our table of it) says what the server stored.
const { IndexedValueType: Wire } = proto.temporal.api.enums.v1;
const IndexedValueType = {
  KEYWORD: Wire.INDEXED_VALUE_TYPE_KEYWORD,
  INT: Wire.INDEXED_VALUE_TYPE_INT,
  DOUBLE: Wire.INDEXED_VALUE_TYPE_DOUBLE,
};
const API_KEY = 'tmprl-test-key-never-to-be-seen';

/** Cluster mode on the test server: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, as an operator would set them. */
function clusterEnv(namespace: string, extra: Record<string, string> = {}): TestEnv {
  const port = inject('temporalPort');
  return makeEnv(port, { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_NAMESPACE: namespace, ...extra });
}

async function connection() {
  const c = await Connection.connect({ address: `127.0.0.1:${inject('temporalPort')}` });
  onCleanup(() => c.close());
  return c;
}

/** A run's history as text with every payload decoded, so nothing can hide in base64. */
function decodedHistory(history: unknown): string {
  const json = JSON.stringify(history);
  return json.replace(
    /"data":"([A-Za-z0-9+/=]+)"/g,
    (_m, b64: string) => `"data":${JSON.stringify(Buffer.from(b64, 'base64').toString('utf8'))}`,
  );
}

const freshNamespace = () => `sr-ns-${randomBytes(4).toString('hex')}`;

describe('setup-namespace', () => {
  it('creates a missing namespace with 30 days retention and registers every search attribute; a second call changes nothing', async () => {
    const ns = freshNamespace();
    const t = clusterEnv(ns);
    const first = await cli(t, ['setup-namespace', '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    const done = JSON.parse(first.stdout);
    const names = Object.values(SA).map((k) => k.name);
    expect(done).toEqual({ namespace: ns, created: true, retentionDays: 30, added: names, present: [] });

    const c = await connection();
    const described = await c.workflowService.describeNamespace({ namespace: ns });
    expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(30 * 86_400);
    const attrs = (await c.operatorService.listSearchAttributes({ namespace: ns })).customAttributes!;
    expect(attrs.Task).toBe(IndexedValueType.KEYWORD);
    expect(attrs.Seed).toBe(IndexedValueType.INT);
    expect(attrs.BestMetric).toBe(IndexedValueType.DOUBLE);
    for (const name of names) expect(attrs[name], name).toBeDefined();

    const again = await cli(t, ['setup-namespace', '--retention-days', '7']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Temporal: 127.0.0.1:${t.port} (namespace ${ns})`);
    expect(again.stdout).toContain(`namespace ${ns}: exists, retention 7 days`);
    expect(again.stdout).toContain(`search attributes: nothing to add; already there: ${names.join(', ')}`);
  });

  it('refuses a namespace whose attribute has another type, naming it, and leaves it as it was', async () => {
    const ns = freshNamespace();
    const c = await connection();
    await c.workflowService.registerNamespace({ namespace: ns, workflowExecutionRetentionPeriod: msToTs('1 day') });
    await waitFor('namespace registered', async () =>
      c.workflowService.describeNamespace({ namespace: ns }).then(
        () => true,
        () => false,
      ),
    );
    await waitFor('conflicting attribute added', async () =>
      c.operatorService.addSearchAttributes({ namespace: ns, searchAttributes: { Phase: IndexedValueType.INT } }).then(
        () => true,
        () => false,
      ),
    );
    const res = await cli(clusterEnv(ns), ['setup-namespace']);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain(
      `namespace '${ns}' already has search attributes of other types: Phase is INT, runs need KEYWORD. Use another namespace, or remove them first.`,
    );
    const attrs = (await c.operatorService.listSearchAttributes({ namespace: ns })).customAttributes!;
    expect(attrs.Phase).toBe(IndexedValueType.INT);
    expect(attrs.Task).toBeUndefined();
  });

  it('a run in that namespace, CLI and both workers configured only by TEMPORAL_* variables (an API key included, which no history or execution sees)', async () => {
    const ns = freshNamespace();
    const t = clusterEnv(ns, { TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' });
    expect((await cli(t, ['setup-namespace'])).exitCode).toBe(0);
    const model = await startScriptedServer(loadScript(join(ROOT, 'test/fixtures/scripts/counter-faster.yaml')));
    onCleanup(() => model.close());
    for (const kind of ['control', 'gpu'] as const) {
      const w = await startWorker(t, kind);
      onCleanup(() => stopWorker(w));
      expect(w.output()).toContain(`namespace ${ns}`);
      expect(w.output()).not.toContain(API_KEY);
    }
    const started = await cli(t, [
      'run',
      'task=counter',
      `model.base_url=${model.url}`,
      'science_runner=bon',
      'n_iterations=1',
      '--detach',
      '--json',
    ]);
    expect(started.exitCode, started.stderr).toBe(0);
    const { runId } = JSON.parse(started.stdout);

    const client = new Client({ connection: await connection(), namespace: ns });
    const result = await client.workflow.getHandle(runId).result();
    expect(result).toMatchObject({ nodes: 2 });
    // Not in the default namespace: the variables chose where it ran.
    const elsewhere = new Client({ connection: await connection(), namespace: 'default' });
    await expect(elsewhere.workflow.getHandle(runId).describe()).rejects.toThrow(/not found/i);

    const listed = await cli(t, ['ls', 'Task="counter"', '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).map((r: { runId: string }) => r.runId)).toEqual([runId]);
    const history = decodedHistory(await client.workflow.getHandle(runId).fetchHistory());
    expect(history).toContain('counter.py'); // the payloads were decoded
    expect(history).not.toContain(API_KEY);
    const tree = JSON.parse((await cli(t, ['tree', runId, '--json'])).stdout);
    for (const node of tree.nodes) expect(node.metrics.secrets_visible, `v_${node.id}`).toBe(0);
  });
});
