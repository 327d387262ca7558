import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { cli, makeEnv } from '../helpers/harness';

// A real run (embedded workers, the suite's dev server) with versions that flood their output and one
// that prints a key it found: a flood costs one crashed version, runs once, and the run goes on; the
// key the worker holds is [redacted] in everything stored.
describe('a run with output floods and a found key', () => {
  it('each flood is one crashed version ("output limit (8 MiB)"), run once; scratch cleaned; the key redacted', async () => {
    const key = `sk-e2e-flood-${Date.now()}-0123456789abcdef`;
    const t = makeEnv(inject('temporalPort'), { SR_E2E_API_KEY: key });
    const runsFile = join(t.home, 'runs.txt');
    const leakFile = join(t.home, 'found-key.txt');
    writeFileSync(runsFile, '');
    writeFileSync(leakFile, key);
    const started = Date.now();
    const res = await cli(t, [
      'run',
      'task=counter',
      'model=scripted',
      'model.script=test/fixtures/scripts/counter-flood.yaml',
      'science_runner=aide',
      'science_runner.n_initial_hypotheses=4',
      'n_iterations=1',
      'task.max_output_mb=8',
      `task.env.COUNTER_RUNS_FILE=${runsFile}`,
      `task.env.LEAK_FILE=${leakFile}`,
      '--json',
    ]);
    const runMs = Date.now() - started;
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ status: 'COMPLETED', nodes: 5 });
    const tree = JSON.parse((await cli(t, ['tree', out.runId, '--json'])).stdout);
    const byId = Object.fromEntries(tree.nodes.map((n: { id: number }) => [n.id, n]));
    for (const id of [1, 2])
      expect(byId[id]).toMatchObject({ status: 'crashed', valid: false, reason: 'output limit (8 MiB)' });
    expect(byId[4]).toMatchObject({ status: 'ok', valid: true, metrics: { score: 0.5 } });
    expect(tree.best).toMatchObject({ id: 4 });
    // Each flood ran exactly once: a returned result, not a failure Temporal would retry.
    // (counter.py's main adds `ran` for the root, the key printer and the faster version.)
    expect(readFileSync(runsFile, 'utf8').split('\n').filter(Boolean).sort()).toEqual([
      'flood-bytes',
      'flood-lines',
      'ran',
      'ran',
      'ran',
    ]);
    const logs = join(t.home, 'workspaces', out.runId, 'logs');
    for (const id of [1, 2]) {
      const log = readFileSync(join(logs, `v_${id}.log`), 'latin1');
      expect(log.length).toBeLessThan(8 * 1024 * 1024 + 4096);
      expect(log).toContain('[speedrunner: output limit (8 MiB)');
    }
    const keyLog = readFileSync(join(logs, 'v_3.log'), 'utf8');
    expect(keyLog).toContain('found key: [redacted]');
    for (const f of readdirSync(logs)) expect(readFileSync(join(logs, f), 'latin1')).not.toContain(key);
    expect(JSON.stringify(tree)).not.toContain(key);
    // Scratch holds nothing of the run's executions.
    const scratch = join(t.home, 'scratch');
    const left = existsSync(scratch) ? readdirSync(scratch).flatMap((d) => readdirSync(join(scratch, d))) : [];
    expect(left).toEqual([]);
    console.log(`output-flood run: ${runMs} ms for 5 versions (two 2 GiB floods)`);
  });
});
