import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseDiff } from 'diff2html';
import type { NodeRecord, RunView } from '../../core/types';
import { ArtifactStore } from '../../src/store/artifact-store';
import { diffSnapshots } from '../../app/report/code-diff';
import { bestPath, collectRunReport, defaultLimits, labelExecutions } from '../../app/report/run-report-data';
import { writeRunReport } from '../../app/report/write-report';
import { redactDeep, redactText, secretValues } from '../../app/report/redact';
import { scriptJson } from '../../app/report/html-page';

let tmp: string;
let store: ArtifactStore;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-report-'));
  store = new ArtifactStore(join(tmp, 'store'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const usage = { input_tokens: 100, output_tokens: 20, cached_input_tokens: 0, cost_usd: 0.001, calls: 2 };
const node = (id: number, parent: number | null, extra: Partial<NodeRecord>): NodeRecord => ({
  id,
  parent,
  stage: parent === null ? 'root' : 'improve',
  iteration: id,
  plan: `plan ${id}`,
  status: 'ok',
  valid: true,
  metrics: {},
  timings: { started_at: '2026-01-01T00:00:00.000Z', llm_ms: 10, exec_ms: 20 },
  usage,
  ...extra,
});

/** root → v_1 (faster) → v_2 (crashed); v_1 → v_3 (running now). */
async function smallRun(): Promise<RunView> {
  const code = 'import time\nDELAY = 0.25\nMODE = "ok"\n\nfor i in range(4):\n    time.sleep(DELAY)\n';
  const s0 = await store.putSnapshot({ 'counter.py': code, 'data.bin': Buffer.from([0, 1, 2]) });
  const s1 = await store.deriveSnapshot(s0, { 'counter.py': code.replace('DELAY = 0.25', 'DELAY = 0.125') });
  const s2 = await store.deriveSnapshot(s1, {
    'counter.py': code.replace('MODE = "ok"', 'MODE = "crash"'),
    'notes.txt': 'new file\n',
  });
  const s3 = await store.deriveSnapshot(s1, { 'data.bin': Buffer.from([0, 9]) as unknown as string });
  const log = Array.from({ length: 100 }, (_, i) => `step:${i + 1}/100 train_loss:1.0`).join('\n') + '\nscore: 0.5\n';
  return {
    runId: 'run-small',
    task: 'counter',
    model: 'scripted',
    science_runner: 'bon',
    phase: 'executing',
    iteration: 3,
    n_iterations: 5,
    selection_metric: 'score',
    lower_is_better: true,
    best: { id: 1, metric: 0.5, speedup: 2, workspace: 'w/v_1' },
    usage,
    nodes: [
      node(0, null, { snapshot: s0, metrics: { score: 1 }, logRef: await store.putBlob('score: 1.0\n') }),
      node(1, 0, {
        snapshot: s1,
        metrics: { score: 0.5 },
        private_metrics: { held_out: 0.7 },
        logRef: await store.putBlob(log),
        planRef: await store.putBlob('plan 1, the whole of it: '.padEnd(900, 'x')),
      }),
      node(2, 1, {
        snapshot: s2,
        status: 'crashed',
        valid: false,
        reason: 'exit code 1',
        logRef: await store.putBlob('Traceback\nRuntimeError: deliberate crash\n'),
      }),
      node(3, 1, { snapshot: s3, status: 'pending', valid: false }),
    ],
    updated_at: '2026-01-01T00:00:00.000Z',
  };
}

describe('the diff of a version against its parent', () => {
  it('is a unified diff of the changed text files only, which diff2html reads', async () => {
    const view = await smallRun();
    const d = await diffSnapshots(store, view.nodes[1].snapshot, view.nodes[2].snapshot!);
    expect(d.files).toEqual([
      { path: 'counter.py', added: 2, removed: 2 },
      { path: 'notes.txt', added: 1, removed: 0 },
    ]);
    const parsed = parseDiff(d.patch);
    expect(parsed.map((f) => [f.newName, f.addedLines, f.deletedLines])).toEqual([
      ['counter.py', 2, 2],
      ['notes.txt', 1, 0],
    ]);
    expect(d.patch).toContain('+MODE = "crash"');
    expect(d.patch).toContain('--- /dev/null');
  });

  it('names a changed binary file without dumping its bytes', async () => {
    const view = await smallRun();
    const d = await diffSnapshots(store, view.nodes[1].snapshot, view.nodes[3].snapshot!);
    expect(d).toEqual({ patch: '', files: [{ path: 'data.bin', added: 0, removed: 0, binary: true }] });
  });
});

describe('collecting a run report', () => {
  it('gives every node its whole plan, diff, log tail and log file, and the path to the best', async () => {
    const view = await smallRun();
    const { data, files } = await collectRunReport(
      { view, status: 'RUNNING', source: 'query', executions: [{ attempt: 1, step: 3, totalSteps: 10 }] },
      store,
    );
    const [root, v1, v2, v3] = data.nodes;
    expect(root.diff).toBe('');
    expect(v1.plan).toMatch(/^plan 1, the whole of it: x{800}/);
    expect(v1.diff).toContain('-DELAY = 0.25\n+DELAY = 0.125');
    expect(v1.private_metrics).toEqual({ held_out: 0.7 });
    expect(v1.log_tail!.split('\n')).toHaveLength(25);
    expect(v1.log_tail!.endsWith('score: 0.5')).toBe(true);
    expect(files.get('logs/v_1.log')!.toString()).toContain('step:1/100');
    expect(v2.log_file).toBe('logs/v_2.log');
    expect(v3.log_file).toBeUndefined();
    expect(data.best_path).toEqual([0, 1]);
    expect(data.counts).toEqual({ ok: 2, crashed: 1, pending: 1 });
    // Store hashes are for the harness, not the reader.
    expect(JSON.stringify(data)).not.toMatch(/"(snapshot|logRef|planRef)"/);
    // The one execution in flight belongs to the one version waiting for its measurement.
    expect(data.executions).toEqual([{ attempt: 1, step: 3, totalSteps: 10, nodeId: 3 }]);
  });

  it('renders what it can when blobs are missing from the store', async () => {
    const view = await smallRun();
    view.nodes[2].logRef = 'f'.repeat(64);
    view.nodes[2].snapshot = 'e'.repeat(64);
    const { data } = await collectRunReport({ view, status: 'COMPLETED', source: 'store' }, store);
    expect(data.nodes[2].log_tail).toMatch(/log unavailable: artifact f{64} is missing/);
    expect(data.nodes[2].reason).toMatch(/exit code 1 \(diff unavailable/);
    expect(data.nodes[1].diff).toContain('+DELAY = 0.125');
  });

  it('cuts a huge diff in the page and writes it whole beside it', async () => {
    const view = await smallRun();
    const { data, files } = await collectRunReport({ view, status: 'COMPLETED', source: 'store' }, store, {
      ...defaultLimits,
      logTailLines: 5,
      logTailChars: 50,
      maxDiffChars: 80,
      maxPlanChars: 10,
    });
    expect(data.nodes[2].diff_truncated).toBe(true);
    expect(data.nodes[2].diff.length).toBeLessThanOrEqual(80);
    expect(files.get('diffs/v_2.diff')).toContain('+new file');
    expect(data.nodes[1].log_tail!.length).toBeLessThanOrEqual(51);
    expect(data.nodes[1].plan).toMatch(/^plan 1, th\n… \(890 more characters\)$/);
  });

  it('walks the best path from the root and stops at a cycle or a missing parent', () => {
    expect(
      bestPath(
        [
          { id: 0, parent: null },
          { id: 1, parent: 0 },
          { id: 2, parent: 1 },
        ],
        2,
      ),
    ).toEqual([0, 1, 2]);
    expect(bestPath([{ id: 5, parent: 3 }], 5)).toEqual([5]);
    expect(bestPath([{ id: 0, parent: null }], undefined)).toEqual([]);
  });

  it('does not guess which version an execution belongs to when several are waiting', () => {
    const waiting = [
      node(1, 0, { status: 'pending', snapshot: 'a' }),
      node(2, 0, { status: 'pending', snapshot: 'b' }),
    ];
    expect(labelExecutions([{ attempt: 1 }], waiting)).toEqual([{ attempt: 1 }]);
  });
});

describe('writing the report', () => {
  it('writes one self-contained page plus the logs it links to, replacing an older report', async () => {
    const view = await smallRun();
    const out = join(tmp, 'report');
    mkdirSync(join(out, 'logs'), { recursive: true });
    writeFileSync(join(out, 'logs', 'v_99.log'), 'stale');
    const w = await writeRunReport(
      { view, status: 'RUNNING', source: 'query', config: { task: { id: 'counter' } } },
      store,
      out,
    );
    const html = readFileSync(w.index, 'utf8');
    expect(w.page_bytes).toBe(Buffer.byteLength(html));
    expect(readFileSync(join(out, 'logs', 'v_1.log'), 'utf8')).toContain('score: 0.5');
    expect(existsSync(join(out, 'logs', 'v_99.log'))).toBe(false);
    // Nothing is loaded from elsewhere: no external script, stylesheet or image.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src="http/i);
    expect(html).toMatch(/d3\s*\.tree\(/); // the tree layout call, however it is wrapped
    expect(html).toContain('Diff2Html');
    expect(html).toContain('uPlot');
  });

  it('keeps text from the run inert and scrubs credentials from the page and the logs', async () => {
    const view = await smallRun();
    const key = 'sk-test-0123456789abcdefghijKLMN';
    process.env.SPEEDRUNNER_TEST_API_KEY = 'not-a-real-key-but-secret-42';
    try {
      view.nodes[1].plan = `</script><script>alert(1)</script> ${key}`;
      delete view.nodes[1].planRef;
      view.nodes[2].logRef = await store.putBlob(`leaked not-a-real-key-but-secret-42 and ${key}\n`);
      const out = join(tmp, 'report');
      const w = await writeRunReport({ view, status: 'COMPLETED', source: 'store' }, store, out);
      const html = readFileSync(w.index, 'utf8');
      expect(html).not.toContain('</script><script>alert(1)');
      expect(html).not.toContain(key);
      expect(readFileSync(join(out, 'logs', 'v_2.log'), 'utf8')).toBe('leaked [redacted] and [redacted]\n');
      const json = html.match(/<script type="application\/json" id="report-data">([^]*?)<\/script>/)![1];
      expect(JSON.parse(json).nodes[1].plan).toBe('</script><script>alert(1)</script> [redacted]');
    } finally {
      delete process.env.SPEEDRUNNER_TEST_API_KEY;
    }
  });
});

describe('redaction', () => {
  it('takes values of credential-named variables, longest first, and key shapes', () => {
    const secrets = secretValues({
      OPENAI_API_KEY: 'abcdefgh12345',
      GH_TOKEN: 'abcdefgh',
      SHORT_KEY: 'abc',
      PATH: '/usr/bin:/bin',
    });
    expect(secrets).toEqual(['abcdefgh12345', 'abcdefgh']);
    expect(redactText('x abcdefgh12345 y abcdefgh z', secrets)).toBe('x [redacted] y [redacted] z');
    expect(redactText('key AKIAABCDEFGHIJKLMNOP here', [])).toBe('key [redacted] here');
    expect(redactDeep({ a: ['abcdefgh'], n: 3 }, secrets)).toEqual({ a: ['[redacted]'], n: 3 });
    expect(scriptJson({ s: '</script>\u2028' })).toBe('{"s":"\\u003c/script>\\u2028"}');
  });
});
