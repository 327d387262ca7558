// Hostile executions and what containing each means: shared by test/e2e/sandbox-limits.test.ts (which
// asserts every one is contained) and bench/containment.ts (which tabulates them on this host).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LAUNCHER,
  parseLimitLine,
  sandboxSettings,
  type LimitHit,
  type SandboxLimits,
  type SandboxMode,
} from '../../src/exec/sandbox';
import { runExecution, type ProcessResult } from '../../src/exec/run-execution';

export interface Attack {
  name: string;
  /** What must hold for it to count as contained, in words (the table's column). */
  contained: string;
  code: string;
  limits: SandboxLimits;
  timeoutMs: number;
  /** The cgroup controller the limit needs; without it the attack is not tried. */
  needs?: 'memory' | 'pids';
  /** Only meaningful inside namespaces (e.g. the private /tmp). */
  isolatedOnly?: boolean;
  /** Why it was not contained, or undefined. */
  check(r: ProcessResult, log: string, limit: LimitHit | undefined): string | undefined;
}

const expectLimit = (kind: LimitHit['kind'], limit: LimitHit | undefined) =>
  limit?.kind === kind ? undefined : `no '${kind}' limit line in the log (got ${limit ? limit.kind : 'none'})`;
const bounded = (r: ProcessResult, ms: number) => (r.wallMs <= ms ? undefined : `ran ${r.wallMs} ms, past ${ms} ms`);

export const ATTACKS: Attack[] = [
  {
    name: 'fork-bomb',
    contained: 'forks refused at pids.max 64; timeout kills all',
    needs: 'pids',
    limits: { pids_max: 64 },
    timeoutMs: 3000,
    code: 'import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.05)\n',
    check: (r, _log, limit) =>
      r.outcome !== 'timeout' ? `outcome ${r.outcome}` : (expectLimit('processes', limit) ?? bounded(r, 8000)),
  },
  {
    name: 'memory-hog',
    contained: 'OOM-killed at memory.max 128 MiB',
    needs: 'memory',
    limits: { memory_max_mb: 128 },
    timeoutMs: 30_000,
    code: 'chunks = []\nfor i in range(64):\n    chunks.append(bytearray(b"x") * (16 << 20))\n    print("allocated", (i + 1) * 16, "MiB", flush=True)\nprint("allocated all")\n',
    check: (r, log, limit) =>
      log.includes('allocated all')
        ? 'allocated 1 GiB'
        : r.outcome !== 'failed'
          ? `outcome ${r.outcome}`
          : expectLimit('memory', limit),
  },
  {
    name: 'disk-fill',
    contained: 'stopped past the 64 MiB workspace cap (many 1 MiB files)',
    limits: { disk_mb: 64 },
    timeoutMs: 30_000,
    code: 'import os\nblock = os.urandom(1 << 20)\nfor i in range(4096):\n    with open(f"fill-{i}.bin", "wb") as f:\n        f.write(block)\nprint("filled all")\n',
    check: (r, log, limit) =>
      log.includes('filled all')
        ? 'wrote 4 GiB'
        : r.outcome !== 'failed'
          ? `outcome ${r.outcome}`
          : expectLimit('disk', limit),
  },
  {
    name: 'big-file',
    contained: 'one file stopped at 64 MiB (RLIMIT_FSIZE)',
    limits: { disk_mb: 64 },
    timeoutMs: 30_000,
    code: 'block = b"x" * (1 << 20)\nwith open("big.bin", "wb") as f:\n    for i in range(1024):\n        f.write(block)\nprint("wrote 1 GiB")\n',
    check: (r, log, limit) =>
      log.includes('wrote 1 GiB')
        ? 'wrote 1 GiB'
        : r.outcome !== 'failed'
          ? `outcome ${r.outcome}`
          : expectLimit('disk', limit),
  },
  {
    name: 'tmp-fill',
    contained: 'private /tmp full (ENOSPC) at 64 MiB',
    isolatedOnly: true,
    limits: { disk_mb: 64 },
    timeoutMs: 30_000,
    code: [
      'import errno',
      'n = 0',
      'try:',
      '    for i in range(128):',
      '        with open(f"/tmp/fill-{i}", "wb") as f:',
      '            for _ in range(8):',
      '                f.write(b"x" * (1 << 20)); f.flush(); n += 1',
      '    print("wrote", n, "MiB")',
      'except OSError as e:',
      '    print("stopped at", n, "MiB", errno.errorcode[e.errno])',
    ].join('\n'),
    check: (_r, log) => {
      const m = /stopped at (\d+) MiB ENOSPC/.exec(log);
      return !m
        ? `not stopped by ENOSPC: ${log.trim().split('\n').slice(-1)[0]}`
        : Number(m[1]) > 64
          ? `wrote ${m[1]} MiB`
          : undefined;
    },
  },
  {
    name: 'closed-stdout',
    contained: 'closes stdout and stderr, sleeps: killed at the 2 s timeout',
    limits: {},
    timeoutMs: 2000,
    code: 'import os, time\nprint("closing", flush=True)\nos.close(1)\nos.close(2)\ntime.sleep(300)\n',
    check: (r) => (r.outcome !== 'timeout' ? `outcome ${r.outcome}` : bounded(r, 6000)),
  },
  {
    name: 'ignores-sigterm',
    contained: 'it and a child ignore SIGTERM: both SIGKILLed at the 2 s timeout',
    limits: {},
    timeoutMs: 2000,
    code: [
      'import signal, subprocess, sys, time',
      'signal.signal(signal.SIGTERM, signal.SIG_IGN)',
      'subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)", sys.argv[0]], start_new_session=True)',
      'print("ignoring", flush=True)',
      'while True:\n    time.sleep(1)',
    ].join('\n'),
    check: (r) => (r.outcome !== 'timeout' ? `outcome ${r.outcome}` : bounded(r, 6000)),
  },
];

export interface AttackOutcome {
  name: string;
  mode: SandboxMode;
  contained: boolean;
  why?: string;
  outcome: ProcessResult['outcome'];
  exitCode?: number;
  wallMs: number;
  /** The guard's limit line: the reason this version would carry. */
  limit?: string;
}

/** Processes whose command line names `marker` (the attack's unique script name), waited on for up to 3 s. */
async function leftover(marker: string): Promise<string[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(marker));
    if (!left.length || Date.now() > deadline) return left;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** cgroup child groups whose guard is gone: a guard removes its own group, so there should be none. */
export function staleCgroups(python: string): string[] {
  const code = [
    'import json, os, sys',
    `sys.path.insert(0, ${JSON.stringify(join(LAUNCHER, '..'))})`,
    'import launcher',
    'out = []',
    'for point, path in launcher.own_cgroups().values():',
    '    parent = os.path.join(point, path.lstrip("/"))',
    '    for n in os.listdir(parent):',
    '        if n.startswith("speedrunner-") and n[12:].isdigit() and not os.path.exists(f"/proc/{n[12:]}"):',
    '            out.append(os.path.join(parent, n))',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', code], { encoding: 'utf8' }).trim()) as string[];
}

/** Runs one attack as a real execution in `mode`, in a fresh workspace under `dir`; removes it after. */
export async function runAttack(
  attack: Attack,
  o: { python: string; dir: string; mode: SandboxMode },
): Promise<AttackOutcome> {
  const ws = join(o.dir, `${attack.name}-${o.mode}`);
  mkdirSync(ws, { recursive: true });
  const script = `attack-${attack.name}-${process.pid}-${Math.floor(Math.random() * 1e9)}.py`;
  writeFileSync(join(ws, script), attack.code);
  const logPath = join(o.dir, `${attack.name}-${o.mode}.log`);
  try {
    const r = await runExecution({
      argv: [o.python, script],
      cwd: ws,
      env: { PATH: '/usr/bin:/bin', PYTHONUNBUFFERED: '1', HOME: ws },
      timeoutMs: attack.timeoutMs,
      logPath,
      python: o.python,
      sandbox: { mode: o.mode, network: false, limits: attack.limits, cgroupParent: sandboxSettings().cgroupParent },
    });
    const log = readFileSync(logPath, 'utf8');
    const limit = log
      .split('\n')
      .map(parseLimitLine)
      .find((l): l is LimitHit => Boolean(l));
    const left = await leftover(script);
    const why = attack.check(r, log, limit) ?? (left.length ? `${left.length} process(es) left running` : undefined);
    return {
      name: attack.name,
      mode: o.mode,
      contained: !why,
      ...(why ? { why } : {}),
      outcome: r.outcome,
      exitCode: r.exitCode,
      wallMs: r.wallMs,
      ...(limit ? { limit: `${limit.kind}: ${limit.detail}` } : {}),
    };
  } finally {
    if (!process.env.KEEP_ATTACK) rmSync(ws, { recursive: true, force: true });
  }
}
