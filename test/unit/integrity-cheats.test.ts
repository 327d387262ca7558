// Every cheat fixture of test/fixtures/cheats is caught by its named rule; the honest control is not.
// Dynamic cheats run as real child processes through executeVersion (harness clock, data fingerprint);
// static ones are patches checked against the nanogpt_baseline task, also through the CLI's exit codes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defaultPython, ROOT } from '../../src/paths';
import { sandboxPlan } from '../../src/exec/sandbox';
import { RULES } from '../../src/integrity/rules';
import { CHEATS_DIR, cheatCatalog, checkPatchFixture, runScriptFixture } from '../../bench/lib/cheat-fixtures';

const CHEATS = CHEATS_DIR;
const catalog = cheatCatalog();
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
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  rmSync(dir, { recursive: true, force: true });
});

describe('cheat fixtures', () => {
  it('the catalog has at least 8 distinct cheats, each with a distinct known rule', () => {
    expect(catalog.cheats.length).toBeGreaterThanOrEqual(8);
    expect(new Set(catalog.cheats.map((c) => c.rule)).size).toBe(catalog.cheats.length);
    for (const c of catalog.cheats) expect(Object.keys(RULES)).toContain(c.rule);
  });

  it('the honest control runs clean: its clock agrees with its reported time', async () => {
    const { outcome, verdict } = await runScriptFixture(dir, 'honest.py', 0);
    expect(outcome).toBe('ok');
    expect(verdict.violations).toEqual([]);
    expect(verdict.clock!.observedMs).toBeGreaterThan(1000);
    expect(verdict.clock!.excusedMs).toBeGreaterThan(150); // three 80 ms validation passes after the anchor
  });

  catalog.cheats
    .filter((c) => c.kind === 'dynamic')
    .forEach((c, i) => {
      it(`${c.fixture} (run) is caught by ${c.rule}`, async () => {
        const { outcome, verdict } = await runScriptFixture(dir, c.fixture, i + 1);
        expect(outcome).toBe('ok');
        expect(verdict.violations.map((v) => v.rule)).toContain(c.rule);
      });
    });

  it('with the sandbox on, task data is read-only: the data write fails and the version crashes', async () => {
    process.env.SPEEDRUNNER_SANDBOX = 'auto';
    try {
      const plan = sandboxPlan(defaultPython(), [dir]);
      const { outcome, verdict } = await runScriptFixture(dir, 'write_data.py', 50);
      if (plan.isolated) {
        expect(outcome).toBe('failed');
        expect(verdict.violations).toEqual([]); // nothing changed: the mount refused the write
      } else {
        expect(verdict.violations.map((v) => v.rule)).toEqual(['data.modified']); // no sandbox here: the fingerprint is the guard
      }
    } finally {
      process.env.SPEEDRUNNER_SANDBOX = 'off';
    }
  });

  catalog.cheats
    .filter((c) => c.kind === 'static')
    .forEach((c) => {
      it(`${c.fixture} (patch) is caught by ${c.rule}`, () => {
        const verdict = checkPatchFixture(c.fixture);
        expect(verdict.violations.map((v) => v.rule)).toContain(c.rule);
      });
    });
});

describe('speedrunner integrity check', () => {
  const cli = async (args: string[]) => {
    try {
      const r = await run(
        process.execPath,
        [join(ROOT, 'bin/speedrunner.js'), 'integrity', 'check', '--task', 'nanogpt_baseline', ...args],
        { cwd: ROOT },
      );
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
    writeFileSync(
      honest,
      readFileSync(join(CHEATS, 'fewer_val_tokens.patch'), 'utf8').replace(
        '// 8  # validate on an eighth',
        ' # same count, reformatted',
      ),
    );
    const ok = await cli(['--diff', honest, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verdict: 'scored', violations: [] });
    expect(JSON.parse(ok.stdout).warnings.length).toBeGreaterThan(0); // it touches the val_tokens line: a warning

    const stale = join(dir, 'stale.patch');
    writeFileSync(
      stale,
      readFileSync(join(CHEATS, 'env_tamper.patch'), 'utf8').replace(
        'accum = a.total_batch_tokens // per_micro',
        'accum = 1',
      ),
    );
    const bad = await cli(['--diff', stale]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/does not apply/);
  }, 60_000);
});
