// How big, and how slow to write, is the report of a large run? Builds a synthetic 500-node run (a
// NanoGPT-sized training script, a few changed lines per version, a 200-step log each) in a temporary
// store, writes its report, and prints the numbers. Run: npx tsx bench/report-size.ts [nodes]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { html as diffHtml } from 'diff2html';
import type { NodeRecord, NodeStatus, RunView } from '../core/types';
import { ArtifactStore } from '../src/store/artifact-store';
import { collectRunReport } from '../app/report/run-report-data';
import { writeRunReport } from '../app/report/write-report';

/** A small deterministic RNG (mulberry32), so every run of the bench measures the same report. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const usage = (r: () => number) => ({
  input_tokens: Math.round(20000 + r() * 30000),
  output_tokens: Math.round(1000 + r() * 3000),
  cached_input_tokens: 0,
  cost_usd: Math.round(r() * 0.2 * 1e4) / 1e4,
  calls: 3,
});

/** Writes a synthetic run of `n` versions into `store` and returns its view. */
export async function syntheticRun(store: ArtifactStore, n: number, runId = 'run-synthetic'): Promise<RunView> {
  const r = rng(42);
  const lines = Array.from({ length: 600 }, (_, i) =>
    i % 40 === 0
      ? `def block_${i}(x, cfg):`
      : `    x = layer_${i % 37}(x, scale=${(i * 0.013).toFixed(3)})  # step ${i}`,
  );
  const files = new Map<number, string[]>();
  files.set(0, lines);
  const nodes: NodeRecord[] = [];
  const statuses: NodeStatus[] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'buggy', 'buggy', 'timeout', 'crashed'];
  let best = 0;
  for (let id = 0; id < n; id++) {
    const parent = id === 0 ? null : id <= 5 ? 0 : r() < 0.5 ? best : Math.floor(r() * id);
    const code = parent === null ? lines : [...files.get(parent)!];
    if (parent !== null) {
      for (let k = 0, edits = 1 + Math.floor(r() * 6); k < edits; k++) {
        const at = Math.floor(r() * code.length);
        code.splice(at, r() < 0.3 ? 0 : 1, `    x = tuned_${id}_${k}(x, lr=${r().toFixed(4)})`);
      }
    }
    files.set(id, code);
    const snapshot = await store.putSnapshot({
      'train_gpt2.py': code.join('\n') + '\n',
      'README.md': 'synthetic task\n',
    });
    const status = id === 0 ? 'ok' : statuses[Math.floor(r() * statuses.length)];
    const trainTime = Math.round(180_000 * (0.6 + r() * 0.5));
    const log =
      Array.from(
        { length: 200 },
        (_, s) =>
          `step:${s + 1}/200 val_loss:${(4 - s * 0.004 + r() * 0.01).toFixed(4)} train_time:${Math.round(((s + 1) * trainTime) / 200)}ms step_avg:${(trainTime / 200).toFixed(2)}ms`,
      ).join('\n') + '\n';
    const plan = `Idea ${id}: ${'tune the schedule and fuse the attention kernels; '.repeat(2 + Math.floor(r() * 20))}`;
    const valid = status === 'ok';
    const node: NodeRecord = {
      id,
      parent,
      stage: parent === null ? 'root' : id <= 5 ? 'draft' : r() < 0.3 ? 'debug' : 'improve',
      iteration: id,
      plan: plan.slice(0, 300),
      planRef: await store.putBlob(plan),
      snapshot,
      status,
      valid,
      ...(valid ? {} : { reason: `${status}: synthetic failure of v_${id}` }),
      metrics: valid ? { train_time: trainTime, val_loss: 3.27 + r() * 0.02, harness_wall_ms: trainTime + 9000 } : {},
      logRef: await store.putBlob(log),
      timings: {
        started_at: new Date(Date.UTC(2026, 0, 1, 0, id * 4)).toISOString(),
        finished_at: new Date(Date.UTC(2026, 0, 1, 0, id * 4 + 3)).toISOString(),
        llm_ms: 20000,
        exec_ms: trainTime + 9000,
        harness_wall_ms: trainTime + 9000,
      },
      usage: usage(r),
    };
    if (valid && node.metrics.train_time < (nodes[best]?.metrics.train_time ?? Infinity)) best = id;
    nodes.push(node);
  }
  const total = nodes.reduce(
    (u, x) => ({
      ...u,
      cost_usd: u.cost_usd + x.usage.cost_usd,
      calls: u.calls + 3,
      input_tokens: u.input_tokens + x.usage.input_tokens,
      output_tokens: u.output_tokens + x.usage.output_tokens,
    }),
    { input_tokens: 0, output_tokens: 0, cached_input_tokens: 0, cost_usd: 0, calls: 0 },
  );
  return {
    runId,
    task: 'nanogpt_speedrun/speedrun_record_3',
    model: 'gpt-5',
    science_runner: 'aide',
    phase: 'done',
    iteration: n - 1,
    n_iterations: n - 1,
    selection_metric: 'train_time',
    lower_is_better: true,
    best: {
      id: best,
      metric: nodes[best].metrics.train_time,
      speedup: Math.round((nodes[0].metrics.train_time / nodes[best].metrics.train_time) * 1000) / 1000,
      workspace: `workspaces/${runId}/v_${best}`,
    },
    usage: total,
    gpu_seconds: (8 * nodes.reduce((s, x) => s + x.timings.exec_ms, 0)) / 1000,
    nodes,
    updated_at: new Date().toISOString(),
  };
}

async function main() {
  const n = Number(process.argv[2] ?? 500);
  const dir = mkdtempSync(join(tmpdir(), 'speedrunner-report-bench-'));
  try {
    const store = new ArtifactStore(join(dir, 'store'));
    const view = await syntheticRun(store, n);
    const input = { view, status: 'COMPLETED', source: 'store' as const };
    const t0 = performance.now();
    const written = await writeRunReport(input, store, join(dir, 'report'));
    const ms = performance.now() - t0;
    const page = readFileSync(written.index);
    // For comparison: the same diffs rendered to HTML at generation time instead of in the browser.
    const { data } = await collectRunReport(input, store);
    const serverSide = data.nodes.reduce(
      (s, x) => s + (x.diff ? diffHtml(x.diff, { drawFileList: false }).length : 0),
      0,
    );
    const diffChars = data.nodes.reduce((s, x) => s + x.diff.length, 0);
    const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
    console.log(`${n} nodes: report written in ${ms.toFixed(0)} ms`);
    console.log(
      `index.html ${kb(written.page_bytes)} (gzip ${kb(gzipSync(page).length)}); with logs ${kb(written.total_bytes)} in ${written.files} files`,
    );
    console.log(`embedded diffs ${kb(diffChars)}; the same diffs as diff2html HTML would be ${kb(serverSide)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
