import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRunConfig } from '../../src/config/load';
import { ideate, snapshotTemplate, ZERO_KNOWLEDGE_PLAN } from '../../src/agent/steps';
import type { NodeBrief } from '../../core/history';
import { scriptSchema, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import type { NodeRecord } from '../../core/types';
import { ArtifactStore } from '../../src/store/artifact-store';
import { noUsage } from '../../core/usage';

// The ideator against the scripted model over real HTTP: ideas already proposed in an iteration are
// never proposed again, and `ideator=dummy` passes the hint through without a model call.
let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer(
    scriptSchema.parse({
      rules: [
        {
          name: 'ideator',
          system: 'ideator',
          replies: ['Memoize chain lengths', '  memoize   CHAIN lengths ', 'Shortcut odd steps'],
        },
      ],
    }),
  );
});
afterEach(() => server.close());

async function setUp(overrides: string[] = []) {
  const home = mkdtempSync(join(tmpdir(), 'speedrunner-ideate-'));
  const config = resolveRunConfig(
    ['task=collatz', 'model=scripted', `model.base_url=${server.url}`, `store=${join(home, 'store')}`, ...overrides],
    {},
  );
  const store = new ArtifactStore(config.store);
  const root: NodeRecord = {
    id: 0,
    parent: null,
    stage: 'root',
    iteration: 0,
    plan: 'start',
    snapshot: await snapshotTemplate(store, config),
    status: 'ok',
    valid: true,
    metrics: {},
    timings: { started_at: '', llm_ms: 0, exec_ms: 0 },
    usage: noUsage(),
  };
  return {
    config,
    store,
    step: (nodeId: number, proposed: string[]) =>
      ideate(store, { runId: 'r', config, nodeId, stage: 'draft', parent: root, history: [root], proposed }),
  };
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
    server = await startScriptedServer(
      scriptSchema.parse({ rules: [{ name: 'ideator', system: 'ideator', replies: ['Same thing'] }] }),
    );
    const { step } = await setUp();
    const first = await step(1, []);
    const again = await step(2, [first.planRef]);
    expect(again.duplicate).toBe(true);
    expect(server.requests).toHaveLength(1 + 3);
  });

  it('ideator=dummy passes the hint through as the idea without calling the model', async () => {
    const { store, step } = await setUp([
      'ideator=dummy',
      'knowledge_src_paths=[workspace_templates/collatz/collatz.py]',
    ]);
    const idea = await step(1, []);
    expect(await store.getText(idea.planRef)).toContain('LIMIT');
    expect(idea.usage.calls).toBe(0);
    expect(server.requests).toHaveLength(0);
  });

  it('ideator=dummy without a hint is the no-hint run: an empty plan, so the coder plans its own change', async () => {
    const { config, store, step } = await setUp(['ideator=dummy', 'hint_level=0']);
    expect(config.ideator).toBe('dummy');
    const idea = await step(1, []);
    expect(await store.getText(idea.planRef)).toBe('');
    expect(idea.plan).toBe(ZERO_KNOWLEDGE_PLAN);
    expect(server.requests).toHaveLength(0);
    // the reference's label for no hint resolves the same way
    expect(resolveRunConfig(['task=collatz', 'model=scripted', 'ideator=dummy', 'hint_level=z'], {}).hint_level).toBe(
      '0',
    );
  });

  it('ideator=dummy debugging a failed version gets its error (outcome summary, log end), not the hint again', async () => {
    const { config, store } = await setUp([
      'ideator=dummy',
      'knowledge_src_paths=[workspace_templates/collatz/collatz.py]',
    ]);
    const logRef = await store.putBlob(
      'step 1\nTraceback (most recent call last):\nNameError: name cache is not defined\n',
    );
    const broken: NodeBrief = {
      id: 3,
      parent: 0,
      stage: 'draft',
      plan: 'Memoize chain lengths',
      status: 'crashed',
      valid: false,
      reason: 'exit code 1',
      metrics: {},
      summary: 'The run crashed at once: cache is used before it is defined.',
      logRef,
    };
    const idea = await ideate(store, {
      runId: 'r',
      config,
      nodeId: 4,
      stage: 'debug',
      parent: broken,
      history: [broken],
    });
    const plan = await store.getText(idea.planRef);
    expect(plan).toContain('Fix v_3, which failed: crashed (exit code 1)');
    expect(plan).toContain('Outcome summary: The run crashed at once: cache is used before it is defined.');
    expect(plan).toContain('NameError: name cache is not defined');
    expect(plan).not.toContain('LIMIT'); // the hint (collatz.py's text) is not passed again
    expect(server.requests).toHaveLength(0);
  });

  it("the ideator sees the task's constraints and the parent's result with its outcome summary", async () => {
    const { config, store } = await setUp(['task.code_instructions=Keep printing the answer line.']);
    const parent: NodeBrief = {
      id: 2,
      parent: 0,
      stage: 'draft',
      plan: 'Memoize chain lengths',
      status: 'ok',
      valid: true,
      metrics: { harness_wall_ms: 812 },
      summary: 'Ran to the end in 0.8 s with the right answer.',
      snapshot: await snapshotTemplate(store, config),
    };
    await ideate(store, { runId: 'r', config, nodeId: 5, stage: 'improve', parent, history: [parent] });
    const body = server.requests[0].body as { messages: { role: string; content: string }[] };
    const user = body.messages.find((m) => m.role === 'user')!.content;
    expect(user).toContain('## Constraints on the code\nKeep printing the answer line.');
    expect(user).toContain(
      '## Result of v_2\nHypothesis: Memoize chain lengths\nOutcome: ok\nMetrics: harness_wall_ms=812\nOutcome summary: Ran to the end in 0.8 s with the right answer.',
    );
  });
});
