import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../src/paths';
import { flagSuspiciousDiff, flagTimingDisagreement } from '../../src/integrity/flags';
import { checkClock, DEFAULT_CLOCK_TOLERANCE } from '../../src/integrity/clock-rules';
import { checkExecution } from '../../src/integrity/execution-rules';
import { checkChanges, codeOnly } from '../../src/integrity/static-rules';
import { applyToFiles, PatchError } from '../../src/integrity/patch';
import { taskSchema } from '../../src/config/task';
import { ClockRecorder, type ExecutionClock } from '../../src/exec/clock';
import { speedrunLineKind } from '../../src/speedrun/log-parse';
import { bestNode } from '../../core/policy';
import { scoredVersions, treeFsr } from '../../core/fsr';
import type { NodeRecord } from '../../core/types';
import { noUsage } from '../../core/usage';

const rules = (v: { violations: { rule: string }[] }) => v.violations.map((x) => x.rule);
const speedrunTask = taskSchema.parse({
  id: 't',
  description: 'd',
  workspace_template: 'w',
  fnames: ['train_gpt2.py'],
  entry_fname: 'train_gpt2.py',
  timeout_s: 60,
  metric_parser: 'speedrun',
  selection_metric: 'train_time',
  metrics_at_most: { val_loss: 3.28 },
  records: { metric: 'train_time', baseline: 1000, target: 500 },
});

describe('flagTimingDisagreement', () => {
  it('flags a reported time longer than the run itself', () => {
    expect(flagTimingDisagreement(500_000, 400_000)).toMatch(/exceeds the harness-measured wall time 400000 ms/);
    expect(flagTimingDisagreement(401_000, 400_000)).toBeUndefined(); // within 2 s slack
  });

  it('flags a reported time below 20% of a long run', () => {
    expect(flagTimingDisagreement(100_000, 1_000_000)).toMatch(/only 10\.0% of/);
    expect(flagTimingDisagreement(300_000, 1_000_000)).toBeUndefined();
    expect(flagTimingDisagreement(100_000, 1_000_000, { minFraction: 0.05 })).toBeUndefined();
  });

  it('skips the fraction rule on short runs and rejects non-numbers', () => {
    expect(flagTimingDisagreement(100, 30_000)).toBeUndefined();
    expect(flagTimingDisagreement(NaN, 30_000)).toMatch(/not a valid duration/);
    expect(flagTimingDisagreement(-5, 30_000)).toMatch(/not a valid duration/);
  });
});

describe('flagSuspiciousDiff', () => {
  const diff = [
    'diff --git a/train_gpt2.py b/train_gpt2.py',
    '--- a/train_gpt2.py',
    '+++ b/train_gpt2.py',
    '@@ -10,3 +10,4 @@ class Hyperparameters:',
    '     batch_size = 8',
    '-    val_tokens = 10485760',
    '+    val_tokens = 1048576',
    '+    lr = 0.1',
    '     warmup = 0',
    '@@ -40,3 +41,3 @@ def main():',
    '     torch.cuda.synchronize()',
    '-    t0 = time.perf_counter()',
    '+    t0 = time.perf_counter() + 5',
    '     x = 1',
    '--- a/other.py',
    '+++ b/other.py',
    '@@ -1,1 +1,1 @@',
    '-target = 3.28',
    '+target = 3.5',
  ].join('\n');

  it('reads changed lines of a unified diff with their line numbers', () => {
    expect(flagSuspiciousDiff(diff)).toEqual([
      'train_gpt2.py:11 (removed) changes the validation token count: val_tokens = 10485760',
      'train_gpt2.py:11 (added) changes the validation token count: val_tokens = 1048576',
      'train_gpt2.py:41 (removed) touches timing code: t0 = time.perf_counter()',
      'train_gpt2.py:42 (added) touches timing code: t0 = time.perf_counter() + 5',
      'other.py:1 (removed) changes the target 3.28: target = 3.28',
    ]);
  });

  it('ignores unchanged context lines and harmless changes', () => {
    const harmless = [
      '--- a/t.py',
      '+++ b/t.py',
      '@@ -1,3 +1,3 @@',
      ' val_loss = evaluate()',
      '-lr = 0.1',
      '+lr = 0.2',
      ' torch.cuda.synchronize()',
    ].join('\n');
    expect(flagSuspiciousDiff(harmless)).toEqual([]);
  });

  it('diffs before/after texts itself', () => {
    const before = [
      'import os',
      'def main():',
      '    val_loader = Loader(args.val_files)',
      '    print(val_loss)',
      'main()',
    ].join('\n');
    const after = [
      'import os',
      'def main():',
      '    lr = 0.2',
      '    print(val_loss)',
      '    print(NANOGPT_VAL_TOKENS)',
      'main()',
    ].join('\n');
    expect(flagSuspiciousDiff([{ path: 'train_gpt2.py', before, after }])).toEqual([
      'train_gpt2.py:3 (removed) touches the validation data: val_loader = Loader(args.val_files)',
      'train_gpt2.py:5 (added) changes the validation token count: print(NANOGPT_VAL_TOKENS)',
    ]);
    expect(flagSuspiciousDiff([{ path: 'a.py', before, after: before }])).toEqual([]);
  });

  it('does not mistake 3.285 or 13.28 for the target', () => {
    const d = ['--- a/t.py', '+++ b/t.py', '@@ -1,0 +1,2 @@', '+x = 3.285', '+y = 13.28'].join('\n');
    expect(flagSuspiciousDiff(d)).toEqual([]);
  });
});

describe('static rules (on the lines a version adds)', () => {
  const ctx = { valTokens: 10_485_760 };
  const check = (before: string, after: string) => checkChanges([{ path: 'train_gpt2.py', before, after }], ctx);
  const base = [
    'import os',
    'val_tokens = int(os.environ["NANOGPT_VAL_TOKENS"])',
    'input_bin = os.environ["NANOGPT_TRAIN_FILES"]',
    'input_val_bin = os.environ["NANOGPT_VAL_FILES"]',
    'val_steps = val_tokens // (B * T)',
    'val_loss = 0.0',
    'for _ in range(val_steps):',
    '    val_loss += model(x)',
    'print(f"step:{step}/{N} val_loss:{val_loss:.4f} train_time:{t:.0f}ms")',
  ].join('\n');
  const edit = (from: string, to: string) => check(base, base.replace(from, to));

  it('lets honest rewrites of validation code through, with keyword warnings only', () => {
    const v = edit('val_steps = val_tokens // (B * T)', 'val_steps = val_tokens // (T * world_size)');
    expect(v.violations).toEqual([]);
    expect(v.warnings.length).toBeGreaterThan(0);
    expect(edit('    val_loss += model(x)', '    val_loss += model(x, window=w).detach()').violations).toEqual([]);
    expect(
      edit('val_tokens = int(os.environ["NANOGPT_VAL_TOKENS"])', 'val_tokens : int = 10485760 # keep fixed').violations,
    ).toEqual([]);
    expect(
      edit('import os', 'import os\nos.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"').violations,
    ).toEqual([]);
    expect(check(base, base).violations).toEqual([]);
  });

  it('val.tokens: another count, a computed count, a shrunk loop', () => {
    expect(rules(edit('int(os.environ["NANOGPT_VAL_TOKENS"])', '1048576'))).toEqual(['val.tokens']);
    expect(rules(edit('int(os.environ["NANOGPT_VAL_TOKENS"])', 'int(os.environ["NANOGPT_VAL_TOKENS"]) // 4'))).toEqual([
      'val.tokens',
    ]);
    expect(rules(edit('val_steps = val_tokens // (B * T)', 'val_steps = val_tokens // (B * T) // 2'))).toEqual([
      'val.tokens',
    ]);
    expect(rules(edit('val_steps = val_tokens // (B * T)', 'val_steps = 3'))).toEqual(['val.tokens']);
    expect(rules(edit('for _ in range(val_steps):', 'for _ in range(val_steps // 8):'))).toEqual(['val.tokens']);
    expect(rules(edit('import os', 'import os\nval_steps //= 2'))).toContain('val.tokens');
  });

  it('val.data-source: validation fed from the training files, or the val files no longer read', () => {
    expect(
      rules(
        edit('input_val_bin = os.environ["NANOGPT_VAL_FILES"]', 'input_val_bin = os.environ["NANOGPT_TRAIN_FILES"]'),
      ),
    ).toEqual(['val.data-source', 'val.data-source']);
    const v = edit('for _ in range(val_steps):', 'val_loader = Loader(args.input_bin)\nfor _ in range(val_steps):');
    expect(rules(v)).toEqual(['val.data-source']);
  });

  it('val.hardcoded: a literal loss, bound or printed, also through the printed variable', () => {
    expect(rules(edit('    val_loss += model(x)', '    val_loss = 3.27'))).toEqual(['val.hardcoded']);
    expect(rules(edit('{val_loss:.4f}', '{3.2712:.4f}'))).toEqual(['val.hardcoded']);
    expect(rules(edit('{val_loss:.4f}', '3.2712'))).toEqual(['val.hardcoded']);
    const printed = base.replace('{val_loss:.4f}', '{vl:.4f}');
    expect(rules(check(printed, printed.replace('val_loss = 0.0', 'val_loss = 0.0\nvl = 3.1')))).toEqual([
      'val.hardcoded',
    ]);
  });

  it('env.tampered: harness keys, computed keys and bulk updates; comments and docstrings never count', () => {
    expect(rules(edit('import os', 'import os\nos.environ["NANOGPT_VAL_TOKENS"] = "1024"'))).toEqual(['env.tampered']);
    expect(rules(edit('import os', 'import os\nk = "NANO" + "GPT_VAL_TOKENS"\nos.environ[k] = "1024"'))).toEqual([
      'env.tampered',
    ]);
    expect(rules(edit('import os', 'import os\nos.environ.update(NANOGPT_VAL_TOKENS="1")'))).toEqual(['env.tampered']);
    expect(rules(edit('import os', 'import os\nos.putenv("CUDA_VISIBLE_DEVICES", "0")'))).toEqual(['env.tampered']);
    expect(
      edit('import os', 'import os\n# os.environ["NANOGPT_VAL_TOKENS"] = "1"\n"""\nval_tokens = 5\n"""').violations,
    ).toEqual([]);
  });

  it('codeOnly blanks comments and docstrings, keeps strings in code and the line count', () => {
    const src = 'x = 1  # val_tokens = 2\n"""doc\nval_tokens = 3\n"""\ny = "a # b"\n';
    const code = codeOnly(src);
    expect(code).toHaveLength(src.split('\n').length);
    expect(code[0].trim()).toBe('x = 1');
    expect(code[2].trim()).toBe('');
    expect(code[4]).toBe('y = "a # b"');
  });

  it('applyToFiles: a patch that does not apply, or names no starting file, is a PatchError', () => {
    const files = { 'train_gpt2.py': 'a\nb\nc\n' };
    const ok = ['--- a/train_gpt2.py', '+++ b/train_gpt2.py', '@@ -1,3 +1,3 @@', ' a', '-b', '+B', ' c', ''].join('\n');
    expect(applyToFiles(files, ok, 'train_gpt2.py')[0].after).toBe('a\nB\nc\n');
    expect(() => applyToFiles(files, ok.replace('-b', '-q'), 'train_gpt2.py')).toThrow(PatchError);
    expect(() => applyToFiles(files, 'not a diff', 'train_gpt2.py')).toThrow(PatchError);
  });
});

/** A clock as the recorder would keep it, from a log and each line's arrival. */
function clockOf(lines: { text: string; at: number }[]): ExecutionClock {
  const steps: [number, number][] = [];
  const vals: [number, number][] = [];
  for (const { text, at } of lines) {
    const m = /^step:(\d+)\//.exec(text);
    if (!m) continue;
    (/val_loss:/.test(text) ? vals : steps).push([Number(m[1]), at]);
  }
  return { steps, vals, lines: lines.length, firstOutputMs: lines[0]?.at, lastOutputMs: lines[lines.length - 1]?.at };
}

/**
 * Arrival times for a real record log, as an honest run produces them: startup, then each line when
 * the time it reports has passed, plus the compilation before the timer's reset at step 10 and a
 * validation pass (left out of train_time) before every validation line.
 */
function honestArrivals(log: string, valPassMs: number) {
  const lines = log.trim().split('\n');
  let valsSoFar = 0;
  let resetAt: number | undefined;
  return lines.map((text) => {
    const step = Number(/^step:(\d+)/.exec(text)![1]);
    const t = Number(/train_time:(\d+)ms/.exec(text)![1]);
    const isVal = text.includes('val_loss:');
    if (isVal) valsSoFar++;
    if (step <= 10 && !isVal) return { text, at: 3000 + t + valsSoFar * valPassMs };
    resetAt ??= 3000 + 54_881 + valsSoFar * valPassMs; // step 10's line: the timer restarts here
    return { text, at: resetAt + t + valsSoFar * valPassMs };
  });
}

describe('clock rules on a real record log (2024-10-14 ModernArch, modded-nanogpt)', () => {
  const log = readFileSync(
    join(ROOT, 'test/fixtures/human-diffs/modded-nanogpt/2024-10-14_ModernArch/log-excerpt.txt'),
    'utf8',
  );

  it('an honest run agrees with its clock, validation passes and compilation excused', () => {
    const arrivals = honestArrivals(log, 2500);
    const r = checkClock(log, clockOf(arrivals), arrivals[arrivals.length - 1].at + 2000);
    expect(r.violations).toEqual([]);
    expect(r.evidence!.anchorStep).toBe(11);
    expect(r.evidence!.excusedMs).toBeGreaterThan(40 * 2500 * 0.9);
    expect(Math.abs(r.evidence!.observedMs - r.evidence!.excusedMs - r.evidence!.reportedMs)).toBeLessThan(
      r.evidence!.toleranceMs,
    );
  });

  it('the same log reporting 5% less time than the clock saw is caught', () => {
    const arrivals = honestArrivals(log, 2500);
    const faked = log.replace(
      'step:5100/5100 val_loss:3.2741 train_time:910546ms',
      `step:5100/5100 val_loss:3.2741 train_time:${Math.round(910546 * 0.95)}ms`,
    );
    expect(rules(checkClock(faked, clockOf(arrivals), undefined))).toEqual(['clock.reported-faster-than-observed']);
  });

  it('lines that all arrive at once cannot vouch for 15 minutes of training', () => {
    const arrivals = honestArrivals(log, 2500).map((a, i) => ({ ...a, at: 900_000 + i }));
    expect(rules(checkClock(log, clockOf(arrivals), 1_000_000))).toEqual(['clock.burst']);
  });

  it('a reported time longer than the execution is impossible; no clock is only a warning', () => {
    expect(rules(checkClock(log, undefined, 500_000))).toEqual(['clock.exceeds-wall']);
    const r = checkClock(log, undefined, 2_000_000);
    expect(r.violations).toEqual([]);
    expect(r.warnings[0]).toMatch(/^clock.unavailable/);
  });

  it('tolerance: 250 ms + 2% of the span + 2 steps', () => {
    expect(DEFAULT_CLOCK_TOLERANCE).toEqual({ slackMs: 250, fraction: 0.02, steps: 2 });
  });
});

describe('clock rules at full length, through the harness clock recorder (sampled)', () => {
  /** A 5100-step record-like run: 55 s compilation before the step-10 reset, 177 ms steps, a 2.5 s validation every 125 steps. */
  function run(finalScale = 1) {
    const rec = new ClockRecorder(speedrunLineKind);
    const lines: string[] = [];
    const N = 5100;
    let now = 3000;
    let trainMs = 0;
    const emit = (text: string) => {
      lines.push(text);
      rec.line(text, now);
    };
    for (let step = 0; step <= N; step++) {
      if (step === 10) trainMs = 0;
      if (step === N || step % 125 === 0) {
        now += 2500; // the validation pass, left out of train_time
        emit(
          `step:${step}/${N} val_loss:${(4 - step / N).toFixed(4)} train_time:${Math.round(step === N ? trainMs * finalScale : trainMs)}ms step_avg:1ms`,
        );
      }
      if (step === N) break;
      const ms = step < 10 ? 5500 : 177;
      now += ms;
      trainMs += ms;
      emit(`step:${step + 1}/${N} train_loss:4.0 train_time:${Math.round(trainMs)}ms step_avg:1ms`);
    }
    return { log: lines.join('\n'), clock: rec.clock(), wallMs: now + 1000 };
  }

  it('an honest run passes although most step lines were sampled away; 4% less reported time does not', () => {
    const honest = run();
    expect(honest.clock.steps.length).toBeLessThan(400);
    const r = checkClock(honest.log, honest.clock, honest.wallMs);
    expect(r.violations).toEqual([]);
    expect(r.evidence!.excusedMs).toBeGreaterThanOrEqual(41 * 2500); // every pass after the anchor (step 0's comes before it)
    const faked = run(0.96);
    expect(rules(checkClock(faked.log, faked.clock, faked.wallMs))).toEqual(['clock.reported-faster-than-observed']);
  });
});

describe('execution rules', () => {
  const log = ['step:1/4 train_time:10ms', 'step:2/4 train_time:20ms', 'step:4/4 val_loss:3.2 train_time:40ms'].join(
    '\n',
  );
  const clock: ExecutionClock = {
    steps: [
      [1, 100],
      [2, 110],
    ],
    vals: [[4, 140]],
    lines: 3,
  };

  it('val.missing: training went past the last validation, or there is none', () => {
    expect(rules(checkExecution(speedrunTask, { log, wallMs: 1000, clock }))).toEqual([]);
    expect(
      rules(checkExecution(speedrunTask, { log: log + '\nstep:5/4 train_time:50ms', wallMs: 1000, clock })),
    ).toContain('val.missing');
    expect(rules(checkExecution(speedrunTask, { log: 'step:1/4 train_time:10ms', wallMs: 1000, clock }))).toEqual([
      'val.missing',
    ]);
  });

  it('data.modified and target.parsed; a crashed execution is judged on its data only', () => {
    expect(rules(checkExecution(speedrunTask, { log, wallMs: 1000, clock, dataChanged: ['/d/val_0.bin'] }))).toEqual([
      'data.modified',
    ]);
    expect(rules(checkExecution(speedrunTask, { log, wallMs: 1000, clock, llmMetrics: ['val_loss'] }))).toEqual([
      'target.parsed',
    ]);
    expect(rules(checkExecution(speedrunTask, { log: '', wallMs: 1000, completed: false }))).toEqual([]);
  });

  it('a regex task keeps the wall-time plausibility check as a warning', () => {
    const regexTask = taskSchema.parse({
      id: 'r',
      description: 'd',
      workspace_template: 'w',
      fnames: ['a.py'],
      entry_fname: 'a.py',
      timeout_s: 5,
      selection_metric: 'score',
    });
    const r = checkExecution(regexTask, { log: 'score: 1', wallMs: 400_000, reportedTrainMs: 500_000 });
    expect(r.violations).toEqual([]);
    expect(r.warnings[0]).toMatch(/exceeds the harness-measured wall time/);
  });
});

describe('warnings do not exclude, violations do', () => {
  const node = (id: number, time: number, extra: Partial<NodeRecord> = {}): NodeRecord => ({
    id,
    parent: id === 0 ? null : 0,
    stage: id === 0 ? 'root' : 'draft',
    iteration: 0,
    plan: '',
    status: 'ok',
    valid: true,
    metrics: { train_time: time, val_loss: 3.2 },
    timings: { started_at: '', llm_ms: 0, exec_ms: 0 },
    usage: noUsage(),
    ...extra,
  });
  const obj = { selection_metric: 'train_time', lower_is_better: true };
  const records = { metric: 'train_time', baseline: 1000, target: 500 };

  it('a warned version can be best and scored; a violating one cannot', () => {
    const nodes = [
      node(0, 1000),
      node(1, 600, { flags: ['touches timing code'] }),
      node(2, 400, { violations: [{ rule: 'clock.burst', detail: 'x' }] }),
    ];
    expect(bestNode(nodes, obj)?.id).toBe(1);
    expect(scoredVersions(nodes).map((n) => n.id)).toEqual([1]);
    expect(treeFsr(nodes, records).fsr).toBeCloseTo(0.8, 9);
    delete nodes[2].violations;
    expect(bestNode(nodes, obj)?.id).toBe(2);
    expect(treeFsr(nodes, records).fsr).toBeCloseTo(1.2, 9);
  });
});
