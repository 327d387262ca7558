import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRunConfig } from '../../src/config/load';
import type { RunConfig } from '../../src/config/schema';
import { taskSchema, type TaskInput } from '../../src/config/task';
import { analyzeExecution, parseMetricReply, redactPrivate, SUMMARY_CHARS } from '../../src/agent/analysis';
import type { ExecutionResult } from '../../src/exec/result';
import { scriptSchema, startScriptedServer, type Script, type ScriptedServer } from '../../src/llm/scripted-server';
import { ArtifactStore } from '../../src/store/artifact-store';

// analyzeExecution against the scripted model over real HTTP: the regex patterns first, the LLM for
// what they missed, an LLM summary, and private metrics that never reach the model.

const SUMMARY = 'It ran to the end and printed its time.';
const rules = (analyzerReplies: string[], summaries: string[] = [SUMMARY]): Script =>
  scriptSchema.parse({
    rules: [
      { name: 'analyzer', system: 'metric reader', replies: analyzerReplies },
      { name: 'summarizer', system: 'note-taker', replies: summaries },
    ],
  });

let dir: string;
let server: ScriptedServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-analysis-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const baseTask: TaskInput = {
  id: 't',
  description: 'd',
  workspace_template: 'w',
  fnames: ['main.py'],
  entry_fname: 'main.py',
  timeout_s: 30,
  selection_metric: 'time',
  metric_patterns: { time: '^time: ([\\d.]+)', answer: '^answer: (\\d+)' },
  metric_types: { time: 'float', answer: 'int' },
};

async function setUp(script: Script, task: Partial<TaskInput> = {}, over: string[] = []) {
  server = await startScriptedServer(script);
  const base = resolveRunConfig(
    ['task=collatz', 'model=scripted', `model.base_url=${server.url}`, `store=${join(dir, 'store')}`, ...over],
    {},
  );
  const config: RunConfig = { ...base, task: taskSchema.parse({ ...baseTask, ...task }) };
  const store = new ArtifactStore(config.store);
  const run = async (log: string, exec: Partial<ExecutionResult> = {}, nodeId = 1) =>
    analyzeExecution(store, {
      runId: 'r',
      nodeId,
      config,
      exec: { outcome: 'ok', exitCode: 0, wallMs: 1234, logRef: await store.putBlob(log), ...exec },
    });
  return { config, store, run, server };
}

/** Every request the model was sent, as stored beside its cached reply. */
async function sentRequests(store: ArtifactStore): Promise<string[]> {
  const refs = join(dir, 'store', 'refs', 'llm');
  const out: string[] = [];
  for (const key of readdirSync(refs)) {
    const entry = await store.getJson<{ requestRef: string }>((await store.getRef(`llm/${key}`))!);
    out.push(await store.getText(entry.requestRef));
  }
  return out;
}

describe('analyzeExecution: patterns', () => {
  it('last match by default, best of the selection metric with metric_extract=best; harness time added; summary stored', async () => {
    const log = 'time: 9.5\nanswer: 40\ntime: 3.25\nanswer: 42\ntime: 7\n';
    const last = await (await setUp(rules(['{}']))).run(log);
    expect(last.metrics).toEqual({ time: 7, answer: 42, harness_wall_ms: 1234 });
    expect(last).toMatchObject({ status: 'ok', valid: true, summary: SUMMARY, private_metrics: {}, flags: [] });
    expect(last.reason).toBeUndefined();
    expect(last.usage.calls).toBe(1); // the summary only: no metric was missing
    expect(server!.requests.map((r) => r.rule)).toEqual(['summarizer']);
    await server!.close();

    const best = await (await setUp(rules(['{}']), { metric_extract: 'best' })).run(log);
    expect(best.metrics).toEqual({ time: 3.25, answer: 42, harness_wall_ms: 1234 });
    await server!.close();
    const bestHigher = await (await setUp(rules(['{}']), { metric_extract: 'best', lower_is_better: false })).run(log);
    expect(bestHigher.metrics.time).toBe(9.5);
  });

  it('metrics_at_most and metrics_at_least make the version invalid', async () => {
    const { run } = await setUp(rules(['{}']), { metrics_at_most: { time: 5 }, metrics_at_least: { answer: 41 } });
    expect(await run('time: 6\nanswer: 42\n')).toMatchObject({
      status: 'buggy',
      valid: false,
      reason: 'time=6 breaks the bound time <= 5',
    });
    expect(await run('time: 4\nanswer: 40\n', {}, 2)).toMatchObject({
      status: 'buggy',
      valid: false,
      reason: 'answer=40 breaks the bound answer >= 41',
    });
    expect(await run('time: 4\nanswer: 41\n', {}, 3)).toMatchObject({ status: 'ok', valid: true });
  });

  it('a crash keeps the last log line as its reason and asks the LLM for no metric', async () => {
    const { run } = await setUp(rules(['{"time": 1}']));
    const a = await run('starting\nZeroDivisionError: division by zero\n', { outcome: 'failed', exitCode: 1 });
    expect(a).toMatchObject({
      status: 'crashed',
      valid: false,
      reason: 'exited with code 1: ZeroDivisionError: division by zero',
      summary: SUMMARY,
    });
    expect(server!.requests.map((r) => r.rule)).toEqual(['summarizer']);
  });
});

describe('analyzeExecution: LLM metric fallback', () => {
  it('asks for exactly the missing metrics and takes a valid reply', async () => {
    const { run, store } = await setUp(rules(['Here they are:\n```json\n{"answer": 42, "time": null}\n```']));
    const a = await run('time: 2.5\nThe answer is forty-two (42).\n');
    expect(a.metrics).toEqual({ time: 2.5, answer: 42, harness_wall_ms: 1234 });
    expect(a.llm_metrics).toEqual(['answer']);
    expect(a).toMatchObject({ status: 'ok', valid: true });
    expect(a.usage.calls).toBe(2);
    expect(server!.requests.map((r) => r.rule)).toEqual(['analyzer', 'summarizer']);
    const asked = (await sentRequests(store)).find((r) => r.includes('metric reader'))!;
    expect(asked).toContain('answer: int');
    expect(asked).not.toContain('time: float');
    // A retried activity reads both replies from the store: nothing is paid twice.
    const again = await run('time: 2.5\nThe answer is forty-two (42).\n');
    expect(again).toEqual({ ...a, usage: again.usage, llm_ms: again.llm_ms });
    expect(server!.requests).toHaveLength(2);
  });

  it('the selection metric read by the LLM makes the version valid', async () => {
    const { run } = await setUp(rules(['{"time": 3.5}']));
    const a = await run('answer: 42\nfinished in 3.5 seconds\n');
    expect(a).toMatchObject({ status: 'ok', valid: true, metrics: { time: 3.5, answer: 42 }, llm_metrics: ['time'] });
  });

  it('an invalid reply (not JSON, wrong type) is ignored with a note in the reason', async () => {
    const { run } = await setUp(rules(['I could not find it, sorry.', '{"answer": 41.5}']), {
      metrics_at_least: { answer: 41 },
    });
    const a = await run('time: 2.5\n');
    expect(a.status).toBe('buggy');
    expect(a.metrics).toEqual({ time: 2.5, harness_wall_ms: 1234 });
    expect(a.reason).toMatch(
      /^answer=missing breaks the bound answer >= 41; the LLM's metric reply was ignored: no JSON object in "I could not find it/,
    );
    const b = await run('time: 2.5\n', {}, 2);
    expect(b.reason).toMatch(/the LLM's metric reply was ignored: answer: .*int/i);
    expect(b.llm_metrics).toBeUndefined();
  });

  it('null means the log does not state it; a wrong JSON shape is an error', () => {
    expect(parseMetricReply('{"a": null, "b": 2}', { a: 'float', b: 'int' })).toEqual({ metrics: { b: 2 } });
    expect(parseMetricReply('{"a": "fast"}', { a: 'float' })).toMatchObject({ error: expect.stringContaining('a:') });
    expect(parseMetricReply('[1, 2]', { a: 'float' })).toMatchObject({
      error: expect.stringContaining('no JSON object'),
    });
    expect(parseMetricReply('{"a": 1,}', { a: 'float' })).toMatchObject({
      error: expect.stringContaining('not valid JSON'),
    });
  });

  it('llm_metric_fallback=false and llm_summary=false make no call at all', async () => {
    const { run } = await setUp(rules(['{"answer": 42}']), {}, [
      'analysis.llm_metric_fallback=false',
      'analysis.llm_summary=false',
    ]);
    const a = await run('time: 2.5\n');
    expect(a.metrics).toEqual({ time: 2.5, harness_wall_ms: 1234 });
    expect(a.summary).toBeUndefined();
    expect(a.usage.calls).toBe(0);
    expect(server!.requests).toHaveLength(0);
  });
});

describe('analyzeExecution: summary', () => {
  it('is one paragraph of at most SUMMARY_CHARS characters', async () => {
    const long = `Line one.\n\n${'word '.repeat(200)}`;
    const a = await (await setUp(rules(['{}'], [long]))).run('time: 1\nanswer: 1\n');
    expect(a.summary!.length).toBeLessThanOrEqual(SUMMARY_CHARS);
    expect(a.summary).toMatch(/^Line one\. word word/);
    expect(a.summary).not.toContain('\n');
  });

  it('sees the outcome, the metrics and the end of the log, cut to max_log_len', async () => {
    const { run, store } = await setUp(rules(['{}']), {}, ['max_log_len=200']);
    const log = `${'early line that is cut\n'.repeat(100)}time: 2\nanswer: 7\nthe very last line\n`;
    await run(log);
    const [sent] = await sentRequests(store);
    expect(sent).toContain('## Outcome\\nok');
    expect(sent).toContain('time=2');
    expect(sent).toContain('the very last line');
    expect(sent).toContain('characters cut');
    expect(sent.split('early line that is cut').length - 1).toBeLessThan(10);
  });
});

describe('analyzeExecution: eval command and private metrics', () => {
  const PRIVATE_VALUES = ['0.91234', '0.98765'];
  const evalTask: Partial<TaskInput> = {
    metric_patterns: { time: '^time: ([\\d.]+)', holdout: '^holdout: ([\\d.]+)' },
    metric_types: { time: 'float' },
    eval: {
      args: ['python', 'eval.py'],
      metric_patterns: { eval_acc: '^eval_acc: ([\\d.]+)', eval_pub: '^eval_pub: ([\\d.]+)' },
      metric_types: { eval_pub: 'float' },
    },
    private_metrics: ['holdout', 'eval_acc'],
  };
  // A rule placed first that would answer any request showing a private metric: it must never match.
  const leakRule = {
    name: 'leak',
    user: `${PRIVATE_VALUES.map((v) => v.replace('.', '\\.')).join('|')}|holdout|eval_acc`,
    replies: ['leaked'],
  };
  const withLeakRule = (analyzer: string[], summaries: string[]) =>
    scriptSchema.parse({ rules: [leakRule, ...rules(analyzer, summaries).rules] });
  const mainLog = 'time: 2.5\nholdout: 0.98765\nthe holdout set looked fine\ndone\n';
  const evalLog =
    'loading model\neval_acc: 0.91234\n(public score printed as eval_pub = 3.5)\nscore 0.91234 is good\nfinished\n';

  it('eval metrics are read from the eval log; private ones kept apart and out of every request and the summary', async () => {
    const summaryWithLeak =
      'The run finished and the eval passed. It scored eval_acc 0.91234 on held-out data. Timing looks normal.';
    const { run, store } = await setUp(withLeakRule(['{"eval_pub": 3.5}'], [summaryWithLeak]), evalTask);
    const a = await run(mainLog, {
      eval: { outcome: 'ok', exitCode: 0, wallMs: 50, logRef: await store.putBlob(evalLog) },
    });
    expect(a.metrics).toEqual({ time: 2.5, eval_pub: 3.5, harness_wall_ms: 1234 });
    expect(a.private_metrics).toEqual({ holdout: 0.98765, eval_acc: 0.91234 });
    expect(a).toMatchObject({ status: 'ok', valid: true, llm_metrics: ['eval_pub'] });
    expect(a.summary).toBe('The run finished and the eval passed. Timing looks normal.');
    // Both calls went out (the eval log's fallback and the summary), and neither showed a private metric.
    expect(server!.requests.map((r) => r.rule)).toEqual(['analyzer', 'summarizer']);
    const sent = await sentRequests(store);
    expect(sent).toHaveLength(2);
    for (const body of sent) {
      for (const secret of [...PRIVATE_VALUES, 'holdout', 'eval_acc']) expect(body).not.toContain(secret);
    }
    expect(sent.some((b) => b.includes('time=2.5'))).toBe(true); // the public parts are there
    expect(sent.some((b) => b.includes('eval_pub = 3.5'))).toBe(true);
  });

  it('bounds apply to private metrics, and the reason shows neither their name nor their value', async () => {
    const { run, store } = await setUp(withLeakRule(['{"eval_pub": 3.5}'], [SUMMARY]), {
      ...evalTask,
      metrics_at_least: { eval_acc: 0.95 },
    });
    const a = await run(mainLog, {
      eval: { outcome: 'ok', exitCode: 0, wallMs: 50, logRef: await store.putBlob(evalLog) },
    });
    expect(a).toMatchObject({ status: 'buggy', valid: false, reason: 'a private metric breaks its bound' });
    expect(server!.requests.map((r) => r.rule)).not.toContain('leak');
  });

  it('a failed eval command makes the version buggy with its last line; a timed-out one says so', async () => {
    const { run, store } = await setUp(withLeakRule(['{}'], [SUMMARY]), evalTask);
    const failed = await run(mainLog, {
      eval: {
        outcome: 'failed',
        exitCode: 2,
        wallMs: 5,
        logRef: await store.putBlob('Traceback\nFileNotFoundError: model.pt\n'),
      },
    });
    expect(failed).toMatchObject({
      status: 'buggy',
      valid: false,
      reason: 'the eval command exited with code 2: FileNotFoundError: model.pt',
    });
    const hung = await run(
      mainLog,
      { eval: { outcome: 'timeout', wallMs: 600_000, logRef: await store.putBlob('loading\n') } },
      2,
    );
    expect(hung).toMatchObject({
      status: 'buggy',
      valid: false,
      reason: 'the eval command was killed after its 600s timeout',
    });
    // No metric was asked of the LLM for a failed eval.
    expect(server!.requests.map((r) => r.rule)).toEqual(['summarizer', 'summarizer']);
  });
});

describe('redactPrivate', () => {
  it('drops the lines that name, match or print a private metric, and nothing else', async () => {
    const t = taskSchema.parse({
      ...baseTask,
      metric_patterns: { ...baseTask.metric_patterns, hid: '^H=(\\d+)' },
      private_metrics: ['hid', 'secret_acc'],
    });
    const log = 'time: 1\nH=12\nsecret_acc: 0.5\nSECRET_ACC was fine\nprinted 123456 here\nanswer: 7\n';
    expect(redactPrivate(t, log, { hid: 123456 })).toBe('time: 1\nanswer: 7\n');
    expect(redactPrivate(taskSchema.parse(baseTask), log)).toBe(log);
  });
});
