import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  formatElapsed,
  progressBar,
  renderProgress,
  runSnapshot,
  startLiveProgress,
  sweepSnapshot,
  type ProgressSnapshot,
} from '../../app/cli/progress';
import { executionFromHeartbeat } from '../../app/report/in-flight';

const usage = { cost_usd: 0.01234, input_tokens: 0, output_tokens: 0, cached_input_tokens: 0, calls: 3 };
const state = {
  phase: 'executing',
  iteration: 3,
  n_iterations: 8,
  selection_metric: 'score',
  best: { id: 2, metric: 0.51234567 },
  usage,
};

describe('the progress line', () => {
  it('shows phase, iteration n/N, best so far, spend and the execution in flight with a bar', () => {
    const snap = runSnapshot(state, [
      executionFromHeartbeat({ step: 2, totalSteps: 4, elapsed_ms: 61_500, devices: [] }, 1),
    ]);
    expect(renderProgress(snap, 200)).toBe(
      'executing · iteration 3/8 · best score=0.51235 (v_2) · $0.0123 · ████████░░░░░░░░ 2/4 1:01',
    );
  });

  it('says what it can before the first step, names the version and counts retries and parallel executions', () => {
    const snap = runSnapshot({ ...state, best: undefined }, [
      executionFromHeartbeat({ elapsed_ms: 3000, nodeId: 4 }, 2),
      executionFromHeartbeat({ step: 1 }, 1),
    ]);
    expect(renderProgress(snap, 200)).toBe(
      'executing · iteration 3/8 · best – · $0.0123 · v_4 running 0:03 (attempt 2) (+1 more)',
    );
  });

  it('never wraps: it is cut to the terminal width', () => {
    const snap = runSnapshot(state, [executionFromHeartbeat({ step: 2, totalSteps: 4 }, 1)]);
    const line = renderProgress(snap, 40);
    expect([...line]).toHaveLength(39);
    expect(line.endsWith('…')).toBe(true);
  });

  it('draws bars and times', () => {
    expect(progressBar(0, 4)).toBe('░░░░');
    expect(progressBar(0.5, 4)).toBe('██░░');
    expect(progressBar(7, 4)).toBe('████');
    expect(progressBar(Number.NaN, 4)).toBe('░░░░');
    expect(formatElapsed(0)).toBe('0:00');
    expect(formatElapsed(59_999)).toBe('0:59');
    expect(formatElapsed(3_723_000)).toBe('1:02:03');
  });

  it('drops malformed heartbeat details instead of showing nonsense', () => {
    expect(executionFromHeartbeat('garbage', 1)).toEqual({ attempt: 1 });
    expect(executionFromHeartbeat({ step: 'x', totalSteps: 0, devices: [0, 1] }, 3)).toEqual({
      attempt: 3,
      devices: ['0', '1'],
    });
  });
});

/** A stream that says it is (or is not) a terminal, collecting what is written. */
function terminal(isTTY: boolean) {
  const s = Object.assign(new PassThrough(), { isTTY, columns: 120 }) as unknown as NodeJS.WriteStream & PassThrough;
  let out = '';
  s.on('data', (c: Buffer) => (out += c.toString()));
  return { stream: s, out: () => out };
}

const snapshot: ProgressSnapshot = {
  phase: 'coding',
  done: 1,
  total: 5,
  unit: 'iteration',
  cost_usd: 0,
  executions: [],
};
const until = async (what: () => boolean) => {
  for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('live progress', () => {
  it('on a terminal, redraws the status line in place and keeps printed lines above it', async () => {
    const t = terminal(true);
    let polls = 0;
    const p = startLiveProgress(async () => ({ ...snapshot, done: ++polls }), { stream: t.stream, intervalMs: 20 });
    await until(() => polls >= 2);
    p.log('[iteration 1/5] v_1 draft of v_0 [ok]');
    p.stop();
    const out = t.out();
    expect(out).toContain('coding · iteration 1/5');
    expect(out).toContain('\r\x1b[2K[iteration 1/5] v_1 draft of v_0 [ok]\n');
    // After stop the status line is cleared, so the summary that follows starts on a clean line.
    expect(out.endsWith('\r\x1b[2K')).toBe(true);
    const after = polls;
    await new Promise((r) => setTimeout(r, 80));
    expect(polls).toBe(after);
  });

  it('writes nothing to a pipe (or with --json): no progress noise', async () => {
    for (const [isTTY, enabled] of [
      [false, true],
      [true, false],
    ] as const) {
      const t = terminal(isTTY);
      let polls = 0;
      const p = startLiveProgress(async () => (polls++, snapshot), { stream: t.stream, enabled, intervalMs: 10 });
      await new Promise((r) => setTimeout(r, 60));
      p.stop();
      expect(polls).toBe(0);
      expect(t.out()).toBe('');
    }
  });

  it('keeps the last line when a poll fails (a worker restarting)', async () => {
    const t = terminal(true);
    let polls = 0;
    const p = startLiveProgress(
      async () => {
        if (++polls > 1) throw new Error('query failed');
        return snapshot;
      },
      { stream: t.stream, intervalMs: 10 },
    );
    await until(() => polls >= 4);
    p.stop();
    expect(t.out().match(/coding · iteration/g)).toHaveLength(1);
  });
});

describe('the sweep progress line', () => {
  it("counts finished cells, failures and spend, and shows a running cell's training step", () => {
    const snap = sweepSnapshot(
      { total: 12, counts: { pending: 5, running: 2, completed: 4, failed: 1 }, cost_usd: 1.5 },
      [executionFromHeartbeat({ step: 30, totalSteps: 120 }, 1)],
    );
    expect(renderProgress(snap, 200)).toBe('2 running · cells 5/12 · 1 failed · $1.5000 · ████░░░░░░░░░░░░ 30/120');
    const done = sweepSnapshot(
      { total: 2, counts: { pending: 0, running: 0, completed: 2, failed: 0 }, cost_usd: 0 },
      [],
    );
    expect(renderProgress(done, 200)).toBe('done · cells 2/2 · $0.0000');
  });
});
