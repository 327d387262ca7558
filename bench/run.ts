// `npm run bench [-- --only overhead,storage] [--quick] [--pipeline] [--<bench>.<param>=<n>]`
// Runs the benchmarks one after another; JSON on stdout (also kept in bench/results/latest.json,
// merged with earlier results of benchmarks not run this time), a short table on stderr.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../src/paths';
import { machineInfo } from './lib/machine';
import * as overheadBench from './overhead';
import * as gpuBusyBench from './gpu-busy';
import * as storageBench from './storage';
import * as scaleBench from './scale';
import * as recoveryBench from './recovery';
import * as scoreTimeBench from './score-time';
import { tableLines } from './lib/table';

type Params = Record<string, number | boolean | string>;
interface Bench {
  defaults: Params;
  quick: Params;
  run(p: Params): Promise<unknown>;
}
const BENCHES: Record<string, Bench> = {
  overhead: { ...overheadBench, run: (p) => overheadBench.overhead(p as typeof overheadBench.defaults) },
  'gpu-busy': { ...gpuBusyBench, run: (p) => gpuBusyBench.gpuBusy(p as typeof gpuBusyBench.defaults) },
  storage: { ...storageBench, run: (p) => storageBench.storage(p as typeof storageBench.defaults) },
  scale: { ...scaleBench, run: (p) => scaleBench.scale(p as typeof scaleBench.defaults) },
  recovery: { ...recoveryBench, run: (p) => recoveryBench.recovery(p as typeof recoveryBench.defaults) },
  'score-time': { ...scoreTimeBench, run: (p) => scoreTimeBench.scoreTime(p as typeof scoreTimeBench.defaults) },
};

function parseArgs(argv: string[]) {
  let only = Object.keys(BENCHES);
  let quick = false;
  const sets: [string, string, string][] = [];
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg === '--pipeline') sets.push(['gpu-busy', 'pipeline', 'true']);
    else if (arg.startsWith('--only=') || arg === '--only') only = (arg.split('=')[1] ?? '').split(',').filter(Boolean);
    else if (/^--[a-z-]+\.[a-z_]+=/.test(arg)) {
      const [key, value] = arg.slice(2).split('=');
      const [bench, param] = key.split('.');
      sets.push([bench, param, value]);
    } else if (only.length === 0) only = arg.split(',');
    else throw new Error(`unknown argument '${arg}'. Use --only a,b  --quick  --pipeline  --<bench>.<param>=<value>`);
  }
  for (const name of only)
    if (!BENCHES[name]) throw new Error(`unknown benchmark '${name}'. Choices: ${Object.keys(BENCHES).join(', ')}`);
  return { only, quick, sets };
}

/** The error and its causes, one per line (a workflow failure's reason is in its cause). */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: string; cause?: unknown; name?: string } | undefined; e; e = e.cause as typeof e)
    parts.push(`${e.name ?? 'Error'}: ${e.message ?? String(e)}`);
  return parts.join('\n  caused by ');
}

async function main() {
  const argv = process.argv.slice(2);
  // `--only a,b` as two words
  const i = argv.indexOf('--only');
  if (i >= 0 && argv[i + 1]) argv.splice(i, 2, `--only=${argv[i + 1]}`);
  const { only, quick, sets } = parseArgs(argv);
  const results: Record<string, unknown> = {};
  for (const name of only) {
    const bench = BENCHES[name];
    const params: Params = { ...(quick ? bench.quick : bench.defaults) };
    for (const [b, key, value] of sets) {
      if (b !== name) continue;
      if (!(key in bench.defaults))
        throw new Error(`${name} has no parameter '${key}'. Parameters: ${Object.keys(bench.defaults).join(', ')}`);
      params[key] =
        typeof bench.defaults[key] === 'number'
          ? Number(value)
          : typeof bench.defaults[key] === 'boolean'
            ? value === 'true'
            : value;
    }
    console.error(`[bench] ${name} ${JSON.stringify(params)} …`);
    const before = machineInfo();
    const started = Date.now();
    try {
      const result = await bench.run(params);
      results[name] = {
        ...(result as object),
        machine: { ...before, load_avg_after: machineInfo().load_avg_1_5_15 },
        took_s: Math.round((Date.now() - started) / 1000),
        measured_at: new Date().toISOString(),
      };
    } catch (err) {
      results[name] = { error: causeChain(err), params, machine: before };
    }
    console.error(`[bench] ${name} done in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const latest = join(dir, 'latest.json');
  const kept = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(latest, JSON.stringify({ ...kept, ...results }, null, 2) + '\n');
  console.log(JSON.stringify(results, null, 2));
  for (const line of tableLines(results)) console.error(line);
  // Scripted servers' keep-alive sockets and the like must not hold the process open.
  process.exit(Object.values(results).some((r) => (r as { error?: string }).error) ? 1 : 0);
}

await main();
