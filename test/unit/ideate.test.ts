import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, resolveRunConfig } from '../../src/config/load';
import { ideate, snapshotTemplate } from '../../src/agent/steps';
import { scriptSchema, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import type { NodeRecord } from '../../core/types';
import { ArtifactStore } from '../../src/store/artifact-store';
import { noUsage } from '../../core/usage';

// The ideator against the scripted model over real HTTP: ideas already proposed in an iteration are
// never proposed again, and `ideator=dummy` passes the hint through without a model call.
let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer(scriptSchema.parse({
    rules: [{ name: 'ideator', system: 'ideator', replies: ['Memoize chain lengths', '  memoize   CHAIN lengths ', 'Shortcut odd steps'] }],
  }));
});
afterEach(() => server.close());

async function setUp(overrides: string[] = []) {
  const home = mkdtempSync(join(tmpdir(), 'speedrunner-ideate-'));
  const config = resolveRunConfig(['task=collatz', 'model=scripted', `model.base_url=${server.url}`, `store=${join(home, 'store')}`, ...overrides], {});
  const store = new ArtifactStore(config.store);
  const root: NodeRecord = {
    id: 0, parent: null, stage: 'root', iteration: 0, plan: 'start', snapshot: await snapshotTemplate(store, config),
    status: 'ok', valid: true, metrics: {}, timings: { started_at: '', llm_ms: 0, exec_ms: 0 }, usage: noUsage(),
  };
  return { config, store, step: (nodeId: number, proposed: string[]) => ideate(store, { runId: 'r', config, nodeId, stage: 'draft', parent: root, history: [root], proposed }) };
}

describe('ideate', () => {
  it('asks again when the model repeats an idea of this iteration (whitespace and case ignored)', async () => {
    const { store, step } = await setUp();
    const first = await step(1, []);
    expect(first.plan).toBe('Memoize chain lengths');
    const second = await step(2, [first.planRef]);
    expect(second.duplicate).toBeUndefined();
    expect(await store.getText(second.planRef)).toBe('Shortcut odd steps');
    expect(second.usage.calls).toBe(2); // the repeat was paid for, and counted
    expect(server.requests.map((r) => r.reply_index)).toEqual([0, 1, 2]);
  });

  it('marks the idea a duplicate when the model keeps repeating it', async () => {
    await server.close();
    server = await startScriptedServer(scriptSchema.parse({ rules: [{ name: 'ideator', system: 'ideator', replies: ['Same thing'] }] }));
    const { step } = await setUp();
    const first = await step(1, []);
    const again = await step(2, [first.planRef]);
    expect(again.duplicate).toBe(true);
    expect(server.requests).toHaveLength(1 + 3);
  });

  it('ideator=dummy passes the hint through as the idea without calling the model', async () => {
    const { store, step } = await setUp(['ideator=dummy', 'knowledge_src_paths=[workspace_templates/collatz/collatz.py]']);
    const idea = await step(1, []);
    expect(await store.getText(idea.planRef)).toContain('LIMIT');
    expect(idea.usage.calls).toBe(0);
    expect(server.requests).toHaveLength(0);
  });

  it('ideator=dummy without a hint is a config error that says what to set', () => {
    expect(() => resolveRunConfig(['task=collatz', 'model=scripted', 'ideator=dummy'], {})).toThrow(ConfigError);
    expect(() => resolveRunConfig(['task=collatz', 'model=scripted', 'ideator=dummy'], {})).toThrow(/set hint_level .* or knowledge_src_paths/);
  });
});
