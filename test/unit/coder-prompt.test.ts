import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfigSchema, type RunConfig } from '../../src/config/schema';
import { coderMessage } from '../../src/coders/coder-prompt';
import { codeVersion } from '../../src/coders/code-version';
import { buggyLineage } from '../../src/agent/prompts';
import { scriptSchema, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import type { NodeBrief } from '../../core/history';
import { relevantHistory } from '../../core/history';
import type { NodeRecord } from '../../core/types';
import { noUsage } from '../../core/usage';
import { ArtifactStore } from '../../src/store/artifact-store';
import { FIXTURE_TASKS } from '../helpers/harness';

// What the coder's first message carries (the reference coder's contents, our words), and that each
// node's coder starts a fresh conversation, checked on the requests the real scripted server received.

const ORIGINAL = 'import time\nDELAY = 0.25\n\ndef main():\n    time.sleep(DELAY)\n';

function config(overrides: Record<string, unknown> = {}, task: Record<string, unknown> = {}): RunConfig {
  const home = mkdtempSync(join(tmpdir(), 'coder-prompt-'));
  return runConfigSchema.parse({
    task: {
      id: 'counter',
      description: 'Make counter.py finish sooner.',
      workspace_template: 'counter',
      fnames: ['counter.py'],
      entry_fname: 'counter.py',
      selection_metric: 'harness_wall_ms',
      timeout_s: 20,
      code_instructions: 'Keep the print lines as they are.',
      packages: ['numpy', 'torch'],
      ...task,
    },
    model: { id: 'scripted', provider: 'scripted', model: 'scripted', base_url: server?.url ?? 'http://127.0.0.1:1' },
    science_runner: { id: 'bon' },
    n_iterations: 1,
    store: join(home, 'store'),
    workspace_dir: join(home, 'ws'),
    task_root: FIXTURE_TASKS,
    ...overrides,
  });
}

const node = (id: number, parent: number | null, valid: boolean, extra: Partial<NodeBrief> = {}): NodeBrief => ({
  id,
  parent,
  stage: parent === null ? 'root' : valid ? 'improve' : 'debug',
  plan: `plan of v_${id}`,
  status: valid ? 'ok' : 'buggy',
  valid,
  metrics: valid ? { harness_wall_ms: 1000 + id } : {},
  ...(valid ? {} : { reason: `error in v_${id}`, summary: `v_${id} raised a NameError on line ${id}.` }),
  ...extra,
});

describe('coderMessage', () => {
  it('carries the code, the idea, the task description, the instructions, the packages and the strict-diff note', () => {
    const text = coderMessage({
      config: config(),
      parent: node(0, null, true),
      history: [],
      plan: 'Halve the delay',
      files: { 'counter.py': ORIGINAL },
      strictDiff: true,
    });
    expect(text).toContain('Study the current version of counter.py');
    expect(text).toContain('DELAY = 0.25');
    expect(text).toContain('## Idea to implement\nHalve the delay');
    expect(text).toContain('Make counter.py finish sooner.');
    expect(text).toContain('Objective: minimise harness_wall_ms');
    expect(text).toContain('## Instructions\nKeep the print lines as they are.');
    expect(text).toMatch(/Never install packages[^\n]*\n- numpy\n- torch\n/);
    expect(text).toContain('character for character');
    expect(text).not.toContain('Earlier failed attempts');
    // whole-file coders get no diff note
    expect(
      coderMessage({
        config: config(),
        parent: node(0, null, true),
        history: [],
        plan: 'x',
        files: {},
        strictDiff: false,
      }),
    ).not.toContain('character for character');
  });

  it("never names a private metric's bound", () => {
    const cfg = config({}, { private_metrics: ['holdout_acc'], metrics_at_least: { holdout_acc: 0.9, answer: 1 } });
    const text = coderMessage({
      config: cfg,
      parent: node(0, null, true),
      history: [],
      plan: 'x',
      files: {},
      strictDiff: true,
    });
    expect(text).toContain('subject to answer >= 1');
    expect(text).not.toContain('holdout');
  });

  it('shows at most 3 buggy ancestors of the lineage, as numbers in order, with their outcome summaries; never a sibling branch', () => {
    // 0 ok → 8 ok → 9 buggy → 10 buggy → 11 buggy → 12 buggy (the parent); 13 is a buggy sibling branch of 9
    const history = [
      node(0, null, true),
      node(8, 0, true),
      node(9, 8, false),
      node(10, 9, false),
      node(11, 10, false),
      node(13, 8, false),
    ];
    const parent = node(12, 11, false);
    expect(buggyLineage(parent, history).map((n) => n.id)).toEqual([10, 11, 12]);
    const text = coderMessage({
      config: config(),
      parent,
      history,
      plan: 'Fix the NameError',
      files: { 'counter.py': ORIGINAL },
      strictDiff: true,
    });
    const bugs = text.slice(text.indexOf('## Earlier failed attempts'));
    expect(bugs.indexOf('### v_10')).toBeLessThan(bugs.indexOf('### v_11'));
    expect(bugs).toContain('### v_12 (from v_11)\nOutcome: buggy: error in v_12');
    expect(bugs).toContain('Outcome summary: v_11 raised a NameError on line 11.');
    expect(bugs).not.toContain('### v_9');
    expect(bugs).not.toContain('v_13');
    // a valid parent has no bug history
    expect(buggyLineage(node(8, 0, true), history)).toEqual([]);
  });

  it('with ideator=dummy and no idea, asks for a plan first, then the implementation (zero knowledge)', () => {
    const text = coderMessage({
      config: config({ ideator: 'dummy' }),
      parent: node(0, null, true),
      history: [],
      plan: '',
      files: { 'counter.py': ORIGINAL },
      strictDiff: true,
    });
    expect(text).toContain('## What to do\nImprove the code on the task below.');
    expect(text).toMatch(/1\. [^\n]+\n2\. [^\n]*pseudocode[^\n]*\n3\. /);
    expect(text).toContain('Reply with your plan, then the edits');
    expect(text).not.toContain('## Idea to implement');
    expect(text).toContain('Make counter.py finish sooner.');
  });
});

describe('relevantHistory keeps the lineage the bug history is read from', () => {
  it('keeps the parent and its nearest ancestors even when many later children fill the bound', () => {
    const rec = (id: number, parent: number | null, valid: boolean): NodeRecord => ({
      id,
      parent,
      stage: parent === null ? 'root' : 'debug',
      iteration: 0,
      plan: `p${id}`,
      status: valid ? 'ok' : 'buggy',
      valid,
      metrics: {},
      timings: { started_at: '', llm_ms: 0, exec_ms: 0 },
      usage: noUsage(),
    });
    const nodes = [rec(0, null, true), rec(1, 0, false), rec(2, 1, false), rec(3, 2, false)];
    for (let id = 4; id < 20; id++) nodes.push(rec(id, 3, true)); // 16 children of v_3
    const ids = relevantHistory(nodes, nodes[3]).map((n) => n.id);
    expect(ids.slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(ids.slice(4)).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });
});

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer(
    scriptSchema.parse({
      rules: [
        {
          name: 'a',
          system: 'coder',
          user: 'IDEA-A',
          replies: ['counter.py\n<<<<<<< SEARCH\nDELAY = 0.25\n=======\nDELAY = 0.1\n>>>>>>> REPLACE\n'],
        },
        {
          name: 'b',
          system: 'coder',
          user: 'IDEA-B',
          replies: ['counter.py\n<<<<<<< SEARCH\nDELAY = 0.25\n=======\nDELAY = 0.2\n>>>>>>> REPLACE\n'],
        },
      ],
    }),
  );
});
afterAll(() => server.close());

describe('one fresh coder per node', () => {
  it("each node's coder conversation starts with its own single message: nothing of the previous node's chat", async () => {
    const cfg = config({ coder: 'search_replace' });
    const store = new ArtifactStore(cfg.store);
    const snapshot = await store.putSnapshot({ 'counter.py': ORIGINAL });
    const parent: NodeBrief = { ...node(0, null, true), snapshot };
    for (const [nodeId, plan] of [
      [1, 'IDEA-A'],
      [2, 'IDEA-B'],
    ] as const) {
      const res = await codeVersion(store, {
        runId: 'fresh',
        config: cfg,
        nodeId,
        stage: 'draft',
        parent,
        history: [parent],
        planRef: await store.putBlob(plan),
      });
      expect(res.snapshot).toBeDefined();
    }
    const bodies = server.requests.map((r) => r.body as { messages: { role: string; content: string }[] });
    expect(server.requests.map((r) => r.rule)).toEqual(['a', 'b']);
    for (const [i, body] of bodies.entries()) {
      const users = body.messages.filter((m) => m.role === 'user');
      expect(users).toHaveLength(1);
      expect(body.messages.filter((m) => m.role === 'assistant')).toHaveLength(0);
      expect(users[0].content).toContain(i === 0 ? 'IDEA-A' : 'IDEA-B');
      expect(users[0].content).not.toContain(i === 0 ? 'IDEA-B' : 'IDEA-A');
      expect(users[0].content).toContain('Keep the print lines as they are.');
      expect(users[0].content).toContain('- torch');
      expect(users[0].content).toContain('character for character');
    }
  });
});
