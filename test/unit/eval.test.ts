import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeVersion, scratchDir } from '../../src/exec/execute-version';
import { evalCommand } from '../../src/exec/run-eval';
import { analyzeExecution } from '../../src/agent/analysis';
import { resolveRunConfig } from '../../src/config/load';
import { taskSchema, type TaskInput } from '../../src/config/task';
import { ArtifactStore } from '../../src/store/artifact-store';

// The task's eval command as a real child process after a real training process, in the same
// workspace and clean environment, with its own timeout and log.

let dir: string;
let saved: { scratch?: string; secret?: string };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-eval-'));
  saved = { scratch: process.env.SPEEDRUNNER_SCRATCH, secret: process.env.SR_TEST_SECRET };
  process.env.SPEEDRUNNER_SCRATCH = join(dir, 'scratch');
  process.env.SR_TEST_SECRET = 'leak-me-not-4711';
});
afterEach(() => {
  for (const [k, v] of [
    ['SPEEDRUNNER_SCRATCH', saved.scratch],
    ['SR_TEST_SECRET', saved.secret],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

const TRAIN = [
  'import sys',
  'mode = sys.argv[1] if len(sys.argv) > 1 else "ok"',
  'open("weights.txt", "w").write("0.875")',
  'print("time: 1.5")',
  'if mode == "crash": sys.exit(3)',
].join('\n');
const EVAL = [
  'import os, sys, time',
  'if "--hang" in sys.argv: time.sleep(60)',
  'print("eval_acc: " + open("weights.txt").read())', // reads what training wrote
  'print("secret_seen: " + str(int("SR_TEST_SECRET" in os.environ)))',
  'print("cwd_ok: " + str(int(os.path.exists("train.py"))))',
].join('\n');

const task = (over: Partial<TaskInput> = {}) =>
  taskSchema.parse({
    id: 't',
    description: 'd',
    workspace_template: 'w',
    fnames: ['train.py'],
    entry_fname: 'train.py',
    timeout_s: 30,
    selection_metric: 'time',
    metric_patterns: { time: '^time: ([\\d.]+)' },
    eval: {
      args: ['python', 'eval.py'],
      timeout_s: 20,
      metric_patterns: {
        eval_acc: '^eval_acc: ([\\d.]+)',
        secret_seen: '^secret_seen: (\\d)',
        cwd_ok: '^cwd_ok: (\\d)',
      },
      metric_types: { secret_seen: 'int', cwd_ok: 'int' },
    },
    private_metrics: ['eval_acc'],
    ...over,
  });

async function execute(t = task(), nodeId = 1) {
  const store = new ArtifactStore(join(dir, 'store'));
  const snapshot = await store.putSnapshot({ 'train.py': TRAIN, 'eval.py': EVAL });
  const r = await executeVersion(store, { runId: 'run-eval', nodeId, snapshot, task: t, data: { val_tokens: 1 } }, []);
  return { store, r };
}

describe('eval command', () => {
  it('runs after a successful execution in its workspace and clean env, with its own log; analysis keeps its private metric apart', async () => {
    const { store, r } = await execute();
    expect(r.outcome).toBe('ok');
    expect(r.eval).toMatchObject({ outcome: 'ok', exitCode: 0 });
    expect(r.eval!.wallMs).toBeGreaterThan(0);
    const evalLog = await store.getText(r.eval!.logRef);
    expect(evalLog).toContain('eval_acc: 0.875');
    expect(evalLog).toContain('secret_seen: 0');
    expect(evalLog).toContain('cwd_ok: 1');
    expect(await store.getText(r.logRef)).not.toContain('eval_acc'); // two logs, kept apart
    expect(existsSync(scratchDir('run-eval', 1))).toBe(false);

    const config = resolveRunConfig(['task=collatz', `store=${join(dir, 'store')}`, 'analysis.llm_summary=false'], {});
    const a = await analyzeExecution(store, {
      runId: 'run-eval',
      nodeId: 1,
      config: { ...config, task: task() },
      exec: r,
    });
    expect(a).toMatchObject({
      status: 'ok',
      valid: true,
      metrics: { time: 1.5, secret_seen: 0, cwd_ok: 1 },
      private_metrics: { eval_acc: 0.875 },
    });
    expect(a.metrics.eval_acc).toBeUndefined();
    expect(a.usage.calls).toBe(0);
  });

  it('is killed at its own timeout, while the training run stays ok', async () => {
    const t = task();
    const { store, r } = await execute({
      ...t,
      eval: { ...t.eval!, args: ['python', 'eval.py', '--hang'], timeout_s: 1 },
    });
    expect(r.outcome).toBe('ok');
    expect(r.eval?.outcome).toBe('timeout');
    expect(r.eval!.wallMs).toBeLessThan(15_000);
    expect(await store.getText(r.eval!.logRef)).not.toContain('eval_acc');
  });

  it('does not run after a failed execution, nor for a task without one', async () => {
    const failed = await execute(task({ args: ['crash'] }));
    expect(failed.r.outcome).toBe('failed');
    expect(failed.r.eval).toBeUndefined();
    const none = await execute(task({ eval: undefined }), 2);
    expect(none.r.outcome).toBe('ok');
    expect(none.r.eval).toBeUndefined();
  });

  it('a leading `python` is the task interpreter; other commands run as given', () => {
    expect(evalCommand(['python', 'eval.py', '--x'], '/venv/bin/python')).toEqual([
      '/venv/bin/python',
      'eval.py',
      '--x',
    ]);
    expect(evalCommand(['bash', 'eval.sh'], '/venv/bin/python')).toEqual(['bash', 'eval.sh']);
  });
});
