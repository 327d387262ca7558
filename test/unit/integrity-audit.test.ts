// `speedrunner audit`: a finished run's versions re-checked from the store (static rules on each
// version's change, run-time rules on its log) together with what the run recorded.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../src/paths';
import { loadTask } from '../../src/config/load';
import { ArtifactStore } from '../../src/store/artifact-store';
import { loadRunView, recordNode } from '../../src/store/run-view-store';
import { applyToFiles } from '../../src/integrity/patch';
import { startingFiles } from '../../src/integrity/task-check';
import { auditRun } from '../../src/integrity/audit';
import type { NodeRecord, RunView } from '../../core/types';
import { noUsage } from '../../core/usage';

const run = promisify(execFile);
let dir: string;
let storeDir: string;
const task = loadTask('nanogpt_baseline');
const summary: Omit<RunView, 'nodes' | 'updated_at'> = {
  runId: 'audit-me',
  task: 'nanogpt_baseline',
  model: 'm',
  science_runner: 'aide',
  phase: 'done',
  iteration: 4,
  n_iterations: 4,
  selection_metric: 'train_time',
  lower_is_better: true,
  usage: noUsage(),
};
const fullLog = [
  'step:1/4 train_loss:5 train_time:10ms',
  'step:4/4 train_loss:4 train_time:40ms',
  'step:4/4 val_loss:3.2 train_time:40ms',
].join('\n');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sr-audit-'));
  storeDir = join(dir, 'store');
  const store = new ArtifactStore(storeDir);
  const start = startingFiles(task);
  const patched = (patch: string) =>
    Object.fromEntries(applyToFiles(start, patch, task.entry_fname).map((c) => [c.path, c.after]));
  const cheat = patched(readFileSync(join(ROOT, 'test/fixtures/cheats/env_tamper.patch'), 'utf8'));
  const honest = {
    [task.entry_fname]: start[task.entry_fname].replace('timing_skip_steps=10,', 'timing_skip_steps=10, '),
  };
  const snap = (files: Record<string, string>) => store.putSnapshot(files);
  const node = async (
    id: number,
    files: Record<string, string>,
    log: string,
    extra: Partial<NodeRecord> = {},
  ): Promise<NodeRecord> => ({
    id,
    parent: id === 0 ? null : 0,
    stage: id === 0 ? 'root' : 'draft',
    iteration: id,
    plan: `v${id}`,
    status: 'ok',
    valid: true,
    snapshot: await snap(files),
    logRef: await store.putBlob(Buffer.from(log)),
    metrics: { val_loss: 3.2, train_time: 40 },
    timings: { started_at: '', llm_ms: 0, exec_ms: 1000, harness_wall_ms: 1000 },
    usage: noUsage(),
    ...extra,
  });
  const nodes = [
    await node(0, start, fullLog),
    await node(1, cheat, fullLog), // env.tampered, found again from the snapshots
    await node(2, honest, fullLog.split('\n').slice(0, 2).join('\n') + '\nstep:2/4 val_loss:3.2 train_time:20ms'), // val.missing, from the log
    await node(3, honest, fullLog, { violations: [{ rule: 'clock.burst', detail: 'recorded by the run' }] }), // the run's record
    await node(4, honest, fullLog, { flags: ['touches timing code'] }), // a warning only
  ];
  for (const n of nodes) await recordNode(store, join(dir, 'workspaces'), summary, n);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('audit', () => {
  it('names the rule each excluded version broke; warnings leave a version scored', async () => {
    const store = new ArtifactStore(storeDir);
    const a = await auditRun(store, (await loadRunView(store, 'audit-me'))!, task, 10_485_760);
    expect(a.excluded).toEqual([1, 2, 3]);
    const by = Object.fromEntries(a.versions.map((v) => [v.id, v]));
    expect(by[1].violations.map((v) => v.rule)).toEqual(['env.tampered']);
    expect(by[2].violations.map((v) => v.rule)).toEqual(['val.missing']);
    expect(by[3]).toMatchObject({ recorded: 1, violations: [{ rule: 'clock.burst', detail: 'recorded by the run' }] });
    expect(by[4]).toMatchObject({ excluded: false, violations: [] });
    expect(by[4].warnings).toContain('touches timing code');
    expect(by[0].excluded).toBe(false);
  });

  it('the CLI prints the same as JSON, and exits 2 for an unknown run', async () => {
    const bin = join(ROOT, 'bin/speedrunner.js');
    const ok = await run(process.execPath, [bin, 'audit', 'audit-me', '--store', storeDir, '--json'], { cwd: ROOT });
    expect(JSON.parse(ok.stdout)).toMatchObject({ runId: 'audit-me', excluded: [1, 2, 3] });
    const missing = await run(process.execPath, [bin, 'audit', 'no-such-run', '--store', storeDir]).catch((e) => e);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no stored view of run no-such-run/);
  }, 60_000);
});
