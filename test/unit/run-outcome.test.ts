import { describe, expect, it } from 'vitest';
import { noValidVersion, shortReason } from '../../core/run-outcome';
import { nodeLine, renderTree, summaryLines } from '../../app/cli/render';
import { judgeExecution } from '../../src/metrics/analyze';
import { loadTask } from '../../src/config/load';
import type { NodeRecord, RunView } from '../../core/types';
import { noUsage } from '../../core/usage';

const node = (id: number, fields: Partial<NodeRecord>): NodeRecord => ({
  id,
  parent: id === 0 ? null : 0,
  stage: id === 0 ? 'root' : 'draft',
  iteration: id === 0 ? 0 : 1,
  plan: `plan ${id}`,
  status: 'buggy',
  valid: false,
  metrics: {},
  timings: { started_at: '', llm_ms: 0, exec_ms: 0 },
  usage: noUsage(),
  ...fields,
});

const view = (nodes: NodeRecord[]): RunView => ({
  runId: 'run-x',
  task: 'nanogpt_baseline',
  model: 'scripted',
  science_runner: 'aide',
  phase: 'done',
  iteration: 2,
  n_iterations: 2,
  selection_metric: 'train_time',
  lower_is_better: true,
  usage: noUsage(),
  nodes,
  updated_at: '',
});

// The reason a CPU NanoGPT version gets, worded by the real analysis.
const task = loadTask('nanogpt_baseline');
const boundReason = (val_loss: number) =>
  judgeExecution(task, { outcome: 'ok', exitCode: 0, wallMs: 10 }, { val_loss, train_time: 100, step: 10 }, '').reason!;

describe('a run with no valid version', () => {
  it('says best: none with the most common reason, and names the bound every version broke with the value nearest it', () => {
    const nodes = [
      node(0, { metrics: { val_loss: 4.5, train_time: 900 }, reason: boundReason(4.5) }),
      node(1, { metrics: { val_loss: 3.9, train_time: 800 }, reason: boundReason(3.9) }),
      node(2, { status: 'crashed', reason: 'exited with code 1: Traceback' }),
      node(3, { metrics: { val_loss: 4.1, train_time: 700 }, reason: boundReason(4.1) }),
    ];
    expect(boundReason(3.9)).toBe('val_loss=3.9 breaks the bound val_loss <= 3.28'); // the wording core/run-outcome.ts groups
    expect(noValidVersion(nodes)).toMatchObject({
      versions: 4,
      commonCount: 3,
      commonReason: 'breaks the bound val_loss <= 3.28',
    });
    const lines = summaryLines(view(nodes));
    expect(lines).toContain('best: none (all 4 versions failed; 3 of them: breaks the bound val_loss <= 3.28)');
    expect(lines.find((l) => l.startsWith('hint:'))).toMatch(
      /^hint: no version met val_loss <= 3\.28 \(3 broke it; best seen val_loss=3\.9 at v_1\)\. .*task\.metrics_at_most\.val_loss=<value>/,
    );
  });

  it('says nothing while a version is valid or none has finished', () => {
    expect(noValidVersion([node(0, { status: 'pending' })])).toBeUndefined();
    const ok = [node(0, { status: 'ok', valid: true, metrics: { train_time: 5 } }), node(1, { reason: 'x' })];
    expect(noValidVersion(ok)).toBeUndefined();
    expect(
      summaryLines({ ...view(ok), best: { id: 0, metric: 5, workspace: '/w/v_0' } }).some((l) =>
        /best: none|hint:/.test(l),
      ),
    ).toBe(false);
  });
});

describe('reasons on one line', () => {
  const cutInQuote =
    'no applicable edit after 3 attempts: block 1: SEARCH text not found in collatz.py (first line: "CACHE = {1: 1}")';

  it('never cuts a reason inside a quotation', () => {
    expect(cutInQuote.slice(0, 100)).toMatch(/"CACH$/); // what the old 100-character cut printed
    expect(shortReason(cutInQuote)).toBe(cutInQuote); // the quote ends soon after the limit: kept whole
    expect(shortReason(`${cutInQuote} and a long tail of words that would not fit`)).toBe(
      `${cutInQuote.slice(0, -1)} …`,
    );
    const long = `error: "${'x'.repeat(300)}" and more`;
    expect(shortReason(long)).toBe('error: …');
    expect(shortReason("it's a plain reason that goes on and on ".repeat(5))).toMatch(/^it's a plain reason .* …$/);
  });

  it('points repeated reasons at the first version that had them', () => {
    const nodes = [
      node(0, { status: 'ok', valid: true }),
      node(1, { reason: cutInQuote }),
      node(2, { reason: cutInQuote }),
      node(3, { reason: 'other' }),
    ];
    const tree = renderTree(view(nodes)).split('\n');
    expect(tree[1]).toContain(cutInQuote);
    expect(tree[2]).toMatch(/v_2 .* — same reason as v_1$/);
    expect(tree[3]).toMatch(/— other$/);
    expect(nodeLine(nodes[2], 'train_time', 1)).not.toContain('SEARCH');
  });
});
