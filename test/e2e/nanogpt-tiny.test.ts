import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { cli, makeEnv } from '../helpers/harness';

// The real GPT-2 trainer end to end on the CPU: shards made from local text by `data from-text`,
// then a one-iteration run of nanogpt_baseline's `tiny` preset, where the scripted model lowers
// the tiny learning rate. Each execution takes ~10 s on two cores (most of it importing torch).

/** A few KB of varied English-like text, so BPE makes many different tokens. */
function corpus(seed: number, sentences: number): string {
  const words =
    'the a model token train loss value small data test quick brown fox jumps over lazy dog speed run record time step layer'.split(
      ' ',
    );
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) {
    const n = 6 + Math.floor(next() * 8);
    const s = Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(' ');
    out.push(`${s[0].toUpperCase()}${s.slice(1)}.`);
  }
  return out.join(' ');
}

describe('nanogpt_baseline, tiny, on the CPU', () => {
  it('makes shards from text, runs root and one draft, and parses their speedrun metrics', async () => {
    const t = makeEnv(inject('temporalPort'));
    const textDir = join(t.home, 'text');
    mkdirSync(textDir, { recursive: true });
    const files = [1, 2, 3].map((i) => {
      const f = join(textDir, `doc${i}.txt`);
      writeFileSync(f, corpus(i, 250));
      return f;
    });
    const dataDir = join(t.home, 'shards');

    // 2048 val tokens: the run validates on the first 1024 (a multiple of the tiny seq_len 64; the
    // trainer also needs one more token for the last target).
    const made = await cli(t, [
      'data',
      'from-text',
      ...files,
      '--out',
      dataDir,
      '--val-tokens',
      '2048',
      '--shard-tokens',
      '4096',
      '--json',
    ]);
    expect(made.exitCode, made.stderr).toBe(0);
    const shards = JSON.parse(made.stdout);
    expect(shards.files[0]).toMatchObject({
      split: 'val',
      tokens: 2048,
      path: join(dataDir, 'fineweb_val_000000.bin'),
    });
    expect(shards.files.filter((f: { split: string }) => f.split === 'train').length).toBeGreaterThanOrEqual(1);
    for (const f of shards.files) expect(existsSync(f.path)).toBe(true);

    const res = await cli(
      t,
      [
        'run',
        'task=nanogpt_baseline',
        'model=scripted',
        'science_runner=bon',
        'n_iterations=1',
        'task.launcher=python',
        'task.gpus_per_execution=0',
        'task.args=[--config,tiny]',
        'task.timeout_s=300',
        `data.train_files=${dataDir}/fineweb_train_*.bin`,
        `data.val_files=${dataDir}/fineweb_val_*.bin`,
        'data.val_tokens=1024',
        // a 30-step model is nowhere near 3.28; the bound only has to separate a trained run from garbage
        'task.metrics_at_most.val_loss=20',
        '--json',
      ],
      { timeout: 360_000 },
    );
    expect(res.exitCode, `${res.stdout}\n${res.stderr}`).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ status: 'COMPLETED', nodes: 2 });

    const tree = JSON.parse((await cli(t, ['tree', out.runId, '--json'])).stdout);
    const [root, child] = tree.nodes;
    for (const n of [root, child]) {
      expect(n, JSON.stringify(n)).toMatchObject({ status: 'ok', valid: true, metrics: { step: 30 } });
      expect(n.metrics.val_loss).toBeGreaterThan(0);
      expect(n.metrics.val_loss).toBeLessThan(20);
      expect(n.metrics.train_time).toBeGreaterThan(0);
    }
    expect(child).toMatchObject({ parent: 0, stage: 'draft' });
    expect(child.plan).toMatch(/^Lower the tiny preset's learning rate/);

    const runDir = join(t.home, 'workspaces', out.runId);
    const tinyPreset = (v: number) =>
      /"tiny": dict\(([\s\S]*?)\),/.exec(readFileSync(join(runDir, `v_${v}`, 'train_gpt2.py'), 'utf8'))![1];
    expect(tinyPreset(0)).toContain('lr=3e-3');
    expect(tinyPreset(1)).toContain('lr=2e-3');
    const log = readFileSync(join(runDir, 'logs', 'v_1.log'), 'utf8');
    expect(log).toMatch(/lr 0\.002 trapezoid/);
    expect(log).toMatch(
      new RegExp(
        `^step:30/30 val_loss:${child.metrics.val_loss.toFixed(4)} train_time:${child.metrics.train_time}ms`,
        'm',
      ),
    );

    // No human records for this task: `score` refuses it with the reason (exit 2), rather than scoring 0.
    const scored = await cli(t, ['score', out.runId, '--json']);
    expect(scored.exitCode).toBe(2);
    expect(scored.stderr).toContain(`cannot score ${out.runId} (task nanogpt_baseline has no human records)`);
  }, 420_000); // ~1.5 min alone; several times that on a loaded machine
});
