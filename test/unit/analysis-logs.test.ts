import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRunConfig } from '../../src/config/load';
import type { RunConfig } from '../../src/config/schema';
import { taskSchema } from '../../src/config/task';
import { analyzeExecution, promptLogTail } from '../../src/agent/analysis';
import { scriptSchema, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import { ArtifactStore } from '../../src/store/artifact-store';

// How analysis reads logs: line by line from bytes, only a bounded end becomes prompt text, and the
// secrets this (control) worker holds are cut from it even if the GPU worker did not know them.

const KEY = 'sk-control-worker-only-0123456789';
let dir: string;
let server: ScriptedServer | undefined;
let saved: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-analysis-logs-'));
  saved = process.env.SR_CONTROL_TEST_API_KEY;
  process.env.SR_CONTROL_TEST_API_KEY = KEY;
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (saved === undefined) delete process.env.SR_CONTROL_TEST_API_KEY;
  else process.env.SR_CONTROL_TEST_API_KEY = saved;
  rmSync(dir, { recursive: true, force: true });
});

async function setUp() {
  server = await startScriptedServer(
    scriptSchema.parse({
      rules: [
        { name: 'analyzer', system: 'metric reader', replies: ['{"answer": 7}'] },
        { name: 'summarizer', system: 'note-taker', replies: ['It printed a lot.'] },
      ],
    }),
  );
  const base = resolveRunConfig(
    ['task=collatz', 'model=scripted', `model.base_url=${server.url}`, `store=${join(dir, 'store')}`],
    {},
  );
  const task = taskSchema.parse({
    id: 't',
    description: 'd',
    workspace_template: 'w',
    fnames: ['m.py'],
    entry_fname: 'm.py',
    timeout_s: 30,
    selection_metric: 'time',
    metric_patterns: { time: '^time: ([\\d.]+)', answer: '^answer: (\\d+)' },
    metric_types: { answer: 'int' },
  });
  const config: RunConfig = { ...base, task, max_log_len: 2000 };
  return { config, store: new ArtifactStore(config.store) };
}

async function sentRequests(store: ArtifactStore): Promise<string[]> {
  const refs = join(dir, 'store', 'refs', 'llm');
  const out: string[] = [];
  for (const key of readdirSync(refs))
    out.push(
      await store.getText(
        (await store.getJson<{ requestRef: string }>((await store.getRef(`llm/${key}`))!)).requestRef,
      ),
    );
  return out;
}

describe('analysis reads logs in bounded pieces', () => {
  it('metrics from anywhere in a log with a 5 MB line; prompts get a bounded, redacted end', async () => {
    const { config, store } = await setUp();
    const log = ['time: 99', 'x'.repeat(5_000_000), `leaked ${KEY} here`, 'time: 1.5', ''].join('\n');
    const a = await analyzeExecution(store, {
      runId: 'r',
      nodeId: 1,
      config,
      exec: { outcome: 'ok', exitCode: 0, wallMs: 10, logRef: await store.putBlob(log) },
    });
    expect(a.metrics).toMatchObject({ time: 1.5, answer: 7 }); // answer: asked of the LLM
    const sent = await sentRequests(store);
    expect(sent).toHaveLength(2);
    for (const request of sent) {
      expect(request).not.toContain(KEY);
      expect(request).toContain('leaked [redacted] here');
      expect(request.length).toBeLessThan(20_000); // max_log_len characters of log, not megabytes
    }
    const end = await promptLogTail(store, await store.putBlob(log), config.task, 100);
    expect(end).toMatch(/^\[… \d+ characters cut …\]\n/);
    expect(end).toContain('leaked [redacted] here\ntime: 1.5\n');
    expect(end.length).toBeLessThan(200);
  });

  it('an execution stopped at the output limit is crashed with that reason', async () => {
    const { config, store } = await setUp();
    const logRef = await store.putBlob(
      'time: 1\n[speedrunner: output limit (64 MiB): 5 bytes cut here; the first 1 and the last 1 bytes are kept]\nyy',
    );
    const a = await analyzeExecution(store, {
      runId: 'r',
      nodeId: 2,
      config,
      exec: { outcome: 'output_limit', exitCode: 137, wallMs: 10, logRef },
    });
    expect(a).toMatchObject({ status: 'crashed', valid: false, reason: 'output limit (64 MiB)' });
  });
});
