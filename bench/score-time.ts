// `speedrunner score` over as many runs as the paper's study (≈ 6,840): synthetic finished runs
// (views with stored configs) in a temp home's store, scored by the real CLI as a child process,
// with the default 50,000 stratified-bootstrap resamples per configuration. Also times the
// aggregation alone, in this process. `npx tsx bench/score-time.ts [runs]` runs it on its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../src/paths';
import { ArtifactStore } from '../src/store/artifact-store';
import { noUsage } from '../core/usage';
import type { NodeRecord, RunView } from '../core/types';
import { randomStream } from '../core/random';
import { aggregateScores } from '../src/score/aggregate';
import { round } from './lib/stats';

export const defaults = { runs: 7000, nodes: 6, resamples: 50_000 };
export const quick = { runs: 700, nodes: 6, resamples: 5_000 };

const CLI = join(ROOT, 'bin', 'speedrunner.js');
const SCAFFOLDS = ['flat', 'tree', 'forest', 'aide', 'multi-aide'];
const HINTS = ['0', '1', '2', '3', '1+2', '1+2+3'];
const MODELS = ['o3-mini', 'deepseek-r1', 'gemini-2.5-pro'];
/** Records 1-20 (6 is excluded from scores, as the imported task is). */
const RECORDS = Array.from({ length: 20 }, (_, i) => i + 1);
/** Human record times (ms) the synthetic tasks use: a smooth stand-in, not the real table. */
const recordMs = (r: number) => Math.round(3_000_000 * 0.85 ** (r - 1));

/** The part of a RunConfig `score` reads (the stored config of a real run carries much more). */
function configOf(record: number, scaffold: string, hint: string, model: string, seed: number) {
  return {
    task: {
      id: `nanogpt_speedrun/speedrun_record_${record}`,
      records: {
        metric: 'train_time',
        baseline: recordMs(record),
        target: recordMs(record + 1),
        excluded_from_scores: record === 6,
      },
    },
    model: { id: model },
    science_runner: { id: scaffold },
    hint_level: hint,
    seed,
  };
}

async function writeRuns(storeDir: string, o: typeof defaults): Promise<string[]> {
  const store = new ArtifactStore(storeDir);
  const rand = randomStream(1);
  const ids: string[] = [];
  const configs = SCAFFOLDS.flatMap((s) => HINTS.flatMap((h) => MODELS.map((m) => [s, h, m] as const)));
  for (let i = 0; i < o.runs; i++) {
    const [scaffold, hint, model] = configs[i % configs.length];
    const record = RECORDS[Math.floor(i / configs.length) % RECORDS.length];
    const runId = `bench-score-${String(i).padStart(5, '0')}`;
    const configRef = await store.putJson(configOf(record, scaffold, hint, model, i));
    const nodes: NodeRecord[] = Array.from({ length: o.nodes }, (_, id) => ({
      id,
      parent: id === 0 ? null : 0,
      stage: id === 0 ? 'root' : 'improve',
      iteration: id,
      plan: `plan ${id}`,
      status: rand() < 0.3 ? 'buggy' : 'ok',
      valid: true,
      metrics: { val_loss: 3.27 + rand() * 0.03, train_time: recordMs(record) * (0.8 + rand() * 0.4) },
      timings: { started_at: '2026-01-01T00:00:00Z', llm_ms: 0, exec_ms: 0 },
      usage: noUsage(),
    }));
    const view: RunView = {
      runId,
      task: `nanogpt_speedrun/speedrun_record_${record}`,
      model,
      science_runner: scaffold,
      phase: 'done',
      iteration: o.nodes - 1,
      n_iterations: o.nodes - 1,
      selection_metric: 'train_time',
      lower_is_better: true,
      usage: noUsage(),
      configRef,
      nodes,
      updated_at: '2026-01-01T00:00:00Z',
    };
    // One write of the whole view under the ref loadRunView reads (recordNode per node would re-read it
    // each time); the CLI finding every run checks the two agree.
    await store.setRef(`runs/${runId}/view`, await store.putJson(view));
    ids.push(runId);
  }
  return ids;
}

export async function scoreTime(o: typeof defaults) {
  const home = mkdtempSync(join(tmpdir(), 'speedrunner-bench-score-'));
  try {
    const storeDir = join(home, 'store');
    const t0 = Date.now();
    const ids = await writeRuns(storeDir, o);
    const writeS = (Date.now() - t0) / 1000;
    const started = Date.now();
    const res = await execa(process.execPath, [CLI, 'score', ...ids, '--json', '--resamples', String(o.resamples)], {
      env: { ...process.env, SPEEDRUNNER_HOME: home, SPEEDRUNNER_SERVER_PORT: '1' },
      reject: false,
      maxBuffer: 1 << 30,
    });
    const cliS = (Date.now() - started) / 1000;
    if (res.exitCode !== 0) throw new Error(`score exited ${res.exitCode}: ${res.stderr.slice(-2000)}`);
    const out = JSON.parse(res.stdout) as {
      runs: { fsr: number }[];
      groups: { rows: number; key: Record<string, string> }[];
    };
    if (out.runs.length !== ids.length) throw new Error(`score returned ${out.runs.length} runs of ${ids.length}`);

    // the aggregation alone, on the rows the CLI scored
    const rows = (
      out.runs as unknown as {
        task: string;
        fsr: number;
        model: string;
        scaffold: string;
        hint_level: string;
        excluded: boolean;
      }[]
    ).map((r) => ({
      record: r.task,
      fsr: r.fsr,
      model: r.model,
      scaffold: r.scaffold,
      hint_level: r.hint_level,
      excluded: r.excluded,
    }));
    const a0 = performance.now();
    const cpu0 = process.cpuUsage();
    const groups = aggregateScores(rows, { resamples: o.resamples });
    const cpu = process.cpuUsage(cpu0);
    const aggregateS = (performance.now() - a0) / 1000;
    return {
      params: o,
      configurations: groups.length,
      rows_per_configuration: round(groups.reduce((s, g) => s + g.rows, 0) / groups.length, 1),
      write_store_s: round(writeS, 1),
      score_cli_s: round(cliS, 2),
      aggregate_only_s: round(aggregateS, 2),
      // on a shared, loaded machine wall time overstates the work: CPU time is what it costs
      aggregate_only_cpu_s: round((cpu.user + cpu.system) / 1e6, 2),
      load_avg_1m: round(loadavg()[0], 1),
      bootstrap_resamples_total: groups.length * o.resamples,
    };
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.argv[2] ?? defaults.runs);
  console.log(JSON.stringify(await scoreTime({ ...defaults, runs }), null, 2));
}
