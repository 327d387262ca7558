// `npx tsx bench/containment.ts [--runs=N]`: the attacks of bench/lib/containment-attacks.ts tried in
// the sandbox this host gives and with --sandbox off (tried / contained, with the reason each version
// would carry), and the sandbox's per-execution overhead against --sandbox off: the median harness
// wall time of N executions of a trivial Python script, the modes alternated. JSON on stdout (also in
// bench/results/containment.json), a table on stderr.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPython, ROOT } from '../src/paths';
import {
  describeSandbox,
  probeCgroups,
  probeIsolation,
  sandboxSettings,
  type SandboxSettings,
} from '../src/exec/sandbox';
import { runExecution } from '../src/exec/run-execution';
import { ATTACKS, runAttack, type AttackOutcome } from './lib/containment-attacks';
import { machineInfo } from './lib/machine';
import { median, round } from './lib/stats';

async function overhead(python: string, dir: string, runs: number) {
  const ws = join(dir, 'trivial');
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'p.py'), 'print(1)\n');
  const limits = sandboxSettings().limits; // the defaults: cgroup memory and pids limits, workspace cap
  const variants: Record<string, SandboxSettings> = {
    off: { mode: 'off', network: false, limits: {} },
    'off + limits': { mode: 'off', network: false, limits },
    sandbox: { mode: 'auto', network: false, limits },
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < runs + 1; i++) {
    for (const [name, sandbox] of Object.entries(variants)) {
      const t0 = performance.now();
      const r = await runExecution({
        argv: [python, 'p.py'],
        cwd: ws,
        env: { PATH: '/usr/bin:/bin' },
        timeoutMs: 60_000,
        logPath: join(dir, `${name}.log`),
        python,
        sandbox,
      });
      if (r.outcome !== 'ok') throw new Error(`trivial execution (${name}) ended ${r.outcome}`);
      if (i > 0) times[name].push(performance.now() - t0); // the first round warms the probes and caches
    }
  }
  const stats = (v: number[]) => ({
    median_ms: round(median(v), 1),
    min_ms: round(Math.min(...v), 1),
    max_ms: round(Math.max(...v), 1),
  });
  const [off, offLimits, sandbox] = [stats(times.off), stats(times['off + limits']), stats(times.sandbox)];
  return {
    runs,
    off,
    'off + limits': offLimits,
    sandbox,
    sandbox_minus_off_ms: round(sandbox.median_ms - off.median_ms, 1),
  };
}

async function main() {
  const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.split('=')[1] ?? 20);
  const python = defaultPython();
  const dir = mkdtempSync(join(tmpdir(), 'sr-containment-'));
  try {
    const isolated = Boolean(probeIsolation(python, false).wrap);
    const cgroups = probeCgroups(python);
    const attacks: (AttackOutcome | { name: string; mode: string; skipped: string })[] = [];
    for (const mode of ['auto', 'off'] as const) {
      for (const a of ATTACKS) {
        if (a.needs && !cgroups.controllers[a.needs])
          attacks.push({ name: a.name, mode, skipped: `no ${a.needs} cgroup here` });
        else if (a.isolatedOnly && (mode === 'off' || !isolated))
          attacks.push({ name: a.name, mode, skipped: 'needs namespaces' });
        else attacks.push(await runAttack(a, { python, dir, mode }));
      }
    }
    const tried = attacks.filter((a): a is AttackOutcome => 'contained' in a);
    const result = {
      machine: machineInfo(),
      sandbox: describeSandbox(python, { ...sandboxSettings(), mode: 'auto' }),
      attacks,
      summary: { tried: tried.length, contained: tried.filter((a) => a.contained).length },
      overhead: await overhead(python, dir, runs),
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'containment.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    console.error(result.sandbox);
    for (const a of attacks)
      console.error(
        `${a.mode.padEnd(4)} ${a.name.padEnd(16)} ${'skipped' in a ? `skipped (${a.skipped})` : `${a.contained ? 'contained' : `NOT CONTAINED: ${a.why}`}; ${a.outcome} in ${a.wallMs} ms${a.limit ? `; ${a.limit}` : ''}`}`,
      );
    console.error(`attacks contained: ${result.summary.contained}/${result.summary.tried}`);
    const o = result.overhead;
    console.error(
      `per execution (median of ${runs}): off ${o.off.median_ms} ms, off + limits ${o['off + limits'].median_ms} ms, sandbox ${o.sandbox.median_ms} ms (+${o.sandbox_minus_off_ms} ms)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
