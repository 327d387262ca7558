// The crossover operator on the real scripted server: the ideator and the coder are shown both
// parents, the edits apply to the first parent's code, and the second's private metrics stay out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfigSchema, type RunConfig } from '../../src/config/schema';
import { codeVersion } from '../../src/coders/code-version';
import { ideate } from '../../src/agent/steps';
import { scriptSchema, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import type { NodeBrief } from '../../core/history';
import { ArtifactStore } from '../../src/store/artifact-store';
import { FIXTURE_TASKS } from '../helpers/harness';

const PARENT_A = 'import time\nDELAY = 0.25\nWORKERS = 1\n\ndef main():\n    time.sleep(DELAY)\n';
const PARENT_B = 'import time\nDELAY = 0.5\nWORKERS = 4\n\ndef main():\n    time.sleep(DELAY)\n';

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer(
    scriptSchema.parse({
      rules: [
        { name: 'ideator', system: 'ideator', replies: ['Take WORKERS from v_2'] },
        {
          name: 'coder',
          system: 'coder',
          user: 'Take WORKERS',
          replies: ['counter.py\n<<<<<<< SEARCH\nWORKERS = 1\n=======\nWORKERS = 4\n>>>>>>> REPLACE\n'],
        },
      ],
    }),
  );
});
afterAll(() => server.close());

function config(): RunConfig {
  const home = mkdtempSync(join(tmpdir(), 'crossover-'));
  return runConfigSchema.parse({
    task: {
      id: 'counter',
      description: 'Make counter.py finish sooner.',
      workspace_template: 'counter',
      fnames: ['counter.py'],
      entry_fname: 'counter.py',
      selection_metric: 'harness_wall_ms',
      timeout_s: 20,
      private_metrics: ['holdout_ms'],
    },
    model: { id: 'scripted', provider: 'scripted', model: 'scripted', base_url: server.url },
    science_runner: { id: 'evolutionary', policy: 'evolutionary' },
    n_iterations: 1,
    store: join(home, 'store'),
    workspace_dir: join(home, 'ws'),
    task_root: FIXTURE_TASKS,
  });
}

const brief = (id: number, snapshot: string, ms: number): NodeBrief => ({
  id,
  parent: 0,
  stage: 'improve',
  plan: `plan of v_${id}`,
  status: 'ok',
  valid: true,
  metrics: { harness_wall_ms: ms },
  snapshot,
  private_metrics: { holdout_ms: 4242 + id },
});

describe('crossover', () => {
  it('shows both parents to the ideator and the coder, and writes the child on the first parent', async () => {
    const cfg = config();
    const store = new ArtifactStore(cfg.store);
    const a = brief(1, await store.putSnapshot({ 'counter.py': PARENT_A }), 300);
    const b = brief(2, await store.putSnapshot({ 'counter.py': PARENT_B }), 500);
    const idea = await ideate(store, {
      runId: 'x',
      config: cfg,
      nodeId: 3,
      stage: 'crossover',
      parent: a,
      secondParent: b,
      history: [a, b],
    });
    expect(idea.plan).toBe('Take WORKERS from v_2');
    const res = await codeVersion(store, {
      runId: 'x',
      config: cfg,
      nodeId: 3,
      stage: 'crossover',
      parent: a,
      secondParent: b,
      history: [a, b],
      planRef: idea.planRef,
    });
    expect(res.error).toBeUndefined();
    // The child is v_1's code with the edit: v_2's DELAY did not come along.
    expect((await store.readSnapshotFiles(res.snapshot!, ['counter.py']))['counter.py']).toBe(
      PARENT_A.replace('WORKERS = 1', 'WORKERS = 4'),
    );

    const [ideator, coder] = server.requests.map(
      (r) =>
        (r.body as { messages: { role: string; content: string }[] }).messages.find((m) => m.role === 'user')!.content,
    );
    expect(ideator).toContain('combines v_1');
    expect(coder).toContain('child of two parents, v_1 and v_2');
    for (const text of [ideator, coder]) {
      expect(text).toContain('DELAY = 0.25'); // the first parent's code
      expect(text).toContain('DELAY = 0.5'); // the second's
      expect(text).toContain('harness_wall_ms=500');
      expect(text).not.toContain('4244'); // the second parent's private metric
      expect(text).not.toContain('holdout');
    }
    expect(coder.indexOf('Code of v_2 (the other parent, for reference)')).toBeLessThan(
      coder.indexOf('Current code (v_1)'),
    );
  });
});
