import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { cli, makeEnv, processesMatching } from '../helpers/harness';

// One real run through the CLI (embedded mode: in-process workers, the suite's dev server): one iteration
// of six drafts executed in parallel, which crash, print no metric, hang past the timeout, propose no
// edit, get faster, and tamper with the task's data.
describe('a run whose versions fail in every way', () => {
  it('records each failure with its reason, goes on, and keeps the good version', async () => {
    const tag = `outcomes-${Date.now()}`;
    const t = makeEnv(inject('temporalPort'), {
      OPENAI_API_KEY: 'sk-must-not-leak',
      TEMPORAL_API_KEY_FAKE: 'nope',
      SPEEDRUNNER_SANDBOX: 'auto',
    });
    const valFile = join(t.home, 'val.bin');
    writeFileSync(valFile, 'validation data');
    const res = await cli(t, [
      'run',
      'task=counter',
      'model=scripted',
      'model.script=test/fixtures/scripts/counter-outcomes.yaml',
      'science_runner=aide',
      'science_runner.n_initial_hypotheses=6',
      'n_iterations=1',
      'task.timeout_s=4',
      `task.args=[${tag}]`,
      `data.val_files=${valFile}`,
      '--json',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ status: 'COMPLETED', nodes: 7 });
    expect(out.buggy).toBeGreaterThanOrEqual(4);

    const tree = JSON.parse((await cli(t, ['tree', out.runId, '--json'])).stdout);
    const byId = Object.fromEntries(tree.nodes.map((n: { id: number }) => [n.id, n]));
    expect(byId[0]).toMatchObject({ stage: 'root', status: 'ok', valid: true, metrics: { score: 1 } });
    expect(byId[1]).toMatchObject({ status: 'crashed', valid: false });
    expect(byId[1].reason).toMatch(/exited with code 1: RuntimeError: deliberate crash/);
    expect(byId[2]).toMatchObject({ status: 'buggy', reason: 'the log has no score metric' });
    expect(byId[3]).toMatchObject({ status: 'timeout', reason: "killed after the task's 4s timeout" });
    expect(byId[3].metrics.harness_wall_ms).toBeGreaterThanOrEqual(4000);
    expect(byId[4]).toMatchObject({ status: 'buggy' });
    expect(byId[4]).not.toHaveProperty('snapshot');
    expect(byId[4].reason).toMatch(
      /no applicable edit after 3 attempts: the reply contains no SEARCH\/REPLACE edit block/,
    );
    expect(byId[5]).toMatchObject({ status: 'ok', valid: true, metrics: { score: 0.5 } });
    // v_6 tries to rewrite the validation data. In the sandbox the data is read-only and the attempt
    // crashes it; where the host has no sandbox it runs and is fastest, but breaks data.modified, which
    // makes it buggy and so never the best.
    const sandboxed = !readFileSync(join(t.home, 'workspaces', out.runId, 'logs', 'v_6.log'), 'utf8').includes(
      'SANDBOX UNAVAILABLE',
    );
    if (sandboxed) {
      expect(byId[6]).toMatchObject({ status: 'crashed', valid: false });
      expect(byId[6].reason).toMatch(/Read-only file system/);
    } else {
      expect(byId[6]).toMatchObject({ status: 'buggy', valid: false, metrics: { score: 0.04 } });
      expect(byId[6].reason).toContain(`integrity: data.modified: the execution modified task data: ${valFile}`);
    }
    expect(readFileSync(valFile, 'utf8')).toBe(sandboxed ? 'validation data' : 'validation datatampered');
    expect(tree.best).toMatchObject({ id: 5, metric: 0.5 });
    // The worker had API keys in its environment; no execution saw one.
    for (const n of tree.nodes) if (n.metrics.secrets_visible !== undefined) expect(n.metrics.secrets_visible).toBe(0);
    // The hung execution's whole process group is gone.
    expect(await processesMatching(tag)).toEqual([]);
    // Versions are laid out for people as workspaces/<runId>/v_<n>/, with their logs.
    const runDir = join(t.home, 'workspaces', out.runId);
    expect(readFileSync(join(runDir, 'v_5', 'counter.py'), 'utf8')).toContain('DELAY = 0.125');
    expect(readFileSync(join(runDir, 'v_1', 'counter.py'), 'utf8')).toContain('MODE = "crash"');
    expect(readFileSync(join(runDir, 'logs', 'v_1.log'), 'utf8')).toContain('deliberate crash');
    expect(existsSync(join(runDir, 'v_4'))).toBe(false);
    // No log, workflow input or stored view holds the key.
    expect(JSON.stringify(tree)).not.toContain('sk-must-not-leak');
  });
});
