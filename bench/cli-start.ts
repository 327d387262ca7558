// How long does a CLI call take to answer? Runs `speedrunner --help`, `--version`, `server status`
// and `status <runId>` (a stored run, no Temporal server: the CLI must say so at once) repeatedly,
// hyperfine-style (warm-up runs, then N timed runs; mean, median, min, max, stddev), once through
// the prebuilt bundle and once through tsx (SPEEDRUNNER_NO_BUNDLE=1; its transpile cache warm, and
// cold: a fresh TMPDIR). JSON on stdout, also kept in bench/results/cli-start.json.
// Run: npx tsx bench/cli-start.ts [--runs=10] [--warmup=2] [--modes=bundle,tsx,tsx-cold]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../src/paths';
import { ArtifactStore } from '../src/store/artifact-store';
import { machineInfo } from './lib/machine';
import { syntheticRun } from './report-size';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const runs = Number(arg('runs', '10'));
const warmup = Number(arg('warmup', '2'));
const modes = arg('modes', 'bundle,tsx,tsx-cold').split(',');

const bin = join(ROOT, 'bin', 'speedrunner.js');

function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const sd = Math.sqrt(ms.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ms.length - 1));
  const r = (x: number) => Math.round(x);
  return {
    runs: ms.length,
    mean_ms: r(mean),
    median_ms: r(sorted[Math.floor(sorted.length / 2)]),
    min_ms: r(sorted[0]),
    max_ms: r(sorted[sorted.length - 1]),
    stddev_ms: r(sd),
  };
}

/** One timed call; the command must exit as expected, else the figure would time an error path. */
function timeOnce(args: string[], env: NodeJS.ProcessEnv, expect: RegExp): number {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  const out = `${res.stdout}${res.stderr}`;
  if (!expect.test(out))
    throw new Error(
      `speedrunner ${args.join(' ')} printed something unexpected (exit ${res.status}):\n${out.slice(0, 2000)}`,
    );
  return ms;
}

async function main() {
  // The bundle is what set-up leaves; build it here so the figure is of the current sources.
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { stdio: 'inherit' });
  const home = mkdtempSync(join(tmpdir(), 'speedrunner-cli-bench-'));
  try {
    const store = new ArtifactStore(join(home, 'store'));
    const view = await syntheticRun(store, 20, 'run-bench-status');
    await store.setRef('runs/run-bench-status/view', await store.putJson(view));
    // A port nothing listens on: `status` must find the server down and read the stored snapshot.
    const base = { ...process.env, SPEEDRUNNER_HOME: home, SPEEDRUNNER_SERVER_PORT: '1', TEMPORAL_ADDRESS: '' };
    const commands: { name: string; args: string[]; expect: RegExp }[] = [
      { name: '--help', args: ['--help'], expect: /Usage: speedrunner/ },
      { name: '--version', args: ['--version'], expect: /^\d+\.\d+\.\d+/ },
      { name: 'server status', args: ['server', 'status'], expect: /not running/ },
      { name: 'status <runId>', args: ['status', 'run-bench-status'], expect: /run run-bench-status/ },
    ];
    const results: Record<string, Record<string, ReturnType<typeof stats>>> = {};
    for (const mode of modes) {
      const env: NodeJS.ProcessEnv = { ...base, SPEEDRUNNER_NO_BUNDLE: mode === 'bundle' ? '' : '1' };
      results[mode] = {};
      for (const c of commands) {
        const times: number[] = [];
        for (let i = 0; i < warmup + runs; i++) {
          let runEnv = env;
          let cold: string | undefined;
          if (mode === 'tsx-cold') {
            // tsx keeps its transpile cache under the temp dir: a fresh one is a first call after a change.
            cold = mkdtempSync(join(tmpdir(), 'speedrunner-tsx-cold-'));
            runEnv = { ...env, TMPDIR: cold };
          }
          const ms = timeOnce(c.args, runEnv, c.expect);
          if (cold) rmSync(cold, { recursive: true, force: true });
          if (i >= warmup || mode === 'tsx-cold') times.push(ms);
        }
        results[mode][c.name] = stats(mode === 'tsx-cold' ? times.slice(warmup) : times);
        console.error(`${mode.padEnd(9)} ${c.name.padEnd(16)} median ${results[mode][c.name].median_ms} ms`);
      }
    }
    const out = {
      bench: 'cli-start',
      measured_at: new Date().toISOString(),
      machine: machineInfo(),
      runs,
      warmup,
      results,
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'cli-start.json'), JSON.stringify(out, null, 2) + '\n');
    console.log(JSON.stringify(out, null, 2));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
