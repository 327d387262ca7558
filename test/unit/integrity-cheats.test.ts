// Every cheat fixture of test/fixtures/cheats is caught by its named rule; the honest control is not.
// Dynamic cheats run as real child processes through executeVersion (harness clock, data fingerprint);
// static ones are patches checked against the nanogpt_baseline task, also through the CLI's exit codes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../src/paths';
import { taskSchema } from '../../src/config/task';
import { loadTask } from '../../src/config/load';
import { executeVersion } from '../../src/exec/execute-version';
import { ArtifactStore } from '../../src/store/artifact-store';
import { StoredLog } from '../../src/metrics/stored-log';
import { checkExecution } from '../../src/integrity/execution-rules';
import { checkPatchForTask } from '../../src/integrity/task-check';
import { RULES } from '../../src/integrity/rules';

const CHEATS = join(ROOT, 'test/fixtures/cheats');
const catalog = JSON.parse(readFileSync(join(CHEATS, 'catalog.json'), 'utf8')) as { cheats: { fixture: string; kind: 'static' | 'dynamic'; rule: string }[] };
const run = promisify(execFile);

let dir: string;
const saved: Record<string, string | undefined> = {};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-cheats-'));
  for (const k of ['SPEEDRUNNER_SCRATCH', 'SPEEDRUNNER_SANDBOX']) saved[k] = process.env[k];
  process.env.SPEEDRUNNER_SCRATCH = join(dir, 'scratch');
  // Without the sandbox, so a data write really happens and the fingerprint must see it (the sandbox
  // would refuse it: task data is mounted read-only there).
  process.env.SPEEDRUNNER_SANDBOX = 'off';
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  rmSync(dir, { recursive: true, force: true });
});

const task = taskSchema.parse({
  id: 'cheat', description: 'd', workspace_template: 'w', fnames: ['train.py'], entry_fname: 'train.py', timeout_s: 60,
  metric_parser: 'speedrun', selection_metric: 'train_time', metrics_at_most: { val_loss: 3.28 },
});

/** Runs a fixture script as the GPU worker would, and applies the run-time rules to what the harness saw. */
async function runFixture(name: string, nodeId: number) {
  const store = new ArtifactStore(join(dir, 'store'));
  const data = join(dir, `data-${nodeId}`);
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'train_0.bin'), 'train tokens');
  writeFileSync(join(data, 'val_0.bin'), 'val tokens');
  const snapshot = await store.putSnapshot({ 'train.py': readFileSync(join(CHEATS, name), 'utf8') });
  const exec = await executeVersion(store, {
    runId: 'cheats', nodeId, snapshot, task, data: { train_files: join(data, 'train_*.bin'), val_files: join(data, 'val_*.bin'), val_tokens: 1 },
  }, []);
  const log = await StoredLog.read(store, exec.logRef);
  return { exec, verdict: checkExecution(task, { log, wallMs: exec.wallMs, clock: exec.clock, dataChanged: exec.dataChanged, completed: exec.outcome === 'ok' }) };
}

describe('cheat fixtures', () => {
  it('the catalog has at least 8 distinct cheats, each with a distinct known rule', () => {
    expect(catalog.cheats.length).toBeGreaterThanOrEqual(8);
    expect(new Set(catalog.cheats.map((c) => c.rule)).size).toBe(catalog.cheats.length);
    for (const c of catalog.cheats) expect(Object.keys(RULES)).toContain(c.rule);
  });

  it('the honest control runs clean: its clock agrees with its reported time', async () => {
    const { exec, verdict } = await runFixture('honest.py', 0);
    expect(exec.outcome).toBe('ok');
    expect(verdict.violations).toEqual([]);
    expect(verdict.clock!.observedMs).toBeGreaterThan(1000);
    expect(verdict.clock!.excusedMs).toBeGreaterThan(150); // three 80 ms validation passes after the anchor
  });

  catalog.cheats.filter((c) => c.kind === 'dynamic').forEach((c, i) => {
    it(`${c.fixture} (run) is caught by ${c.rule}`, async () => {
      const { exec, verdict } = await runFixture(c.fixture, i + 1);
      expect(exec.outcome).toBe('ok');
      expect(verdict.violations.map((v) => v.rule)).toContain(c.rule);
    });
  });

  const baseline = loadTask('nanogpt_baseline');
  catalog.cheats.filter((c) => c.kind === 'static').forEach((c) => {
    it(`${c.fixture} (patch) is caught by ${c.rule}`, () => {
      const verdict = checkPatchForTask(baseline, readFileSync(join(CHEATS, c.fixture), 'utf8'), 10_485_760);
      expect(verdict.violations.map((v) => v.rule)).toContain(c.rule);
    });
  });
});

describe('speedrunner integrity check', () => {
  const cli = async (args: string[]) => {
    try {
      const r = await run(process.execPath, [join(ROOT, 'bin/speedrunner.js'), 'integrity', 'check', '--task', 'nanogpt_baseline', ...args], { cwd: ROOT });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('exit 1 with the rule for a cheat, 0 for an honest patch, 2 for one that does not apply', async () => {
    const cheat = await cli(['--diff', join(CHEATS, 'env_tamper.patch'), '--json']);
    expect(cheat.code).toBe(1);
    expect(JSON.parse(cheat.stdout)).toMatchObject({ verdict: 'excluded', violations: [{ rule: 'env.tampered' }] });

    const honest = join(dir, 'honest.patch');
    writeFileSync(honest, readFileSync(join(CHEATS, 'fewer_val_tokens.patch'), 'utf8').replace('// 8  # validate on an eighth', ' # same count, reformatted'));
    const ok = await cli(['--diff', honest, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verdict: 'scored', violations: [] });
    expect(JSON.parse(ok.stdout).warnings.length).toBeGreaterThan(0); // it touches the val_tokens line: a warning

    const stale = join(dir, 'stale.patch');
    writeFileSync(stale, readFileSync(join(CHEATS, 'env_tamper.patch'), 'utf8').replace('accum = a.total_batch_tokens // per_micro', 'accum = 1'));
    const bad = await cli(['--diff', stale]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/does not apply/);
  }, 60_000);
});
