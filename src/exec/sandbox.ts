import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { ROOT } from '../paths';

/**
 * Isolation of agent-written code, set on the GPU worker (`worker gpu --sandbox auto|strict|off
 * --network`). With Linux namespaces (util-linux `unshare`: mount, PID, network, IPC, UTS, cgroup)
 * an execution runs in a fresh root that holds only its workspace (rw), its data and its Python (ro),
 * the system libraries, GPU device nodes and a private /tmp and /dev/shm; it has a private loopback
 * and no other network, its own /proc, no SysV IPC of anyone else, and no capabilities. Where the host
 * lets the guard make a cgroup child group, memory and process counts are limited there. `auto` falls
 * back, loudly, to the plain process-group guard where namespaces are unavailable; `strict` refuses.
 */
export type SandboxMode = 'auto' | 'strict' | 'off';
export const SANDBOX_MODES: SandboxMode[] = ['auto', 'strict', 'off'];

export interface SandboxLimits {
  /** RLIMIT_CPU of the command, in CPU seconds. */
  cpu_s?: number;
  /** RLIMIT_AS, in MiB. CUDA reserves far more address space than it uses: leave unset on GPU hosts. */
  memory_mb?: number;
  /** cgroup memory limit (memory.max, v1 memory.limit_in_bytes) of the whole execution, in MiB. */
  memory_max_mb?: number;
  /** cgroup pids.max of the whole execution (threads count); RLIMIT_NPROC where no pids cgroup. */
  pids_max?: number;
  /** Size cap of the workspace (watched) and of its private /tmp (tmpfs size), in MiB; RLIMIT_FSIZE too. */
  disk_mb?: number;
}

export interface SandboxSettings {
  mode: SandboxMode;
  /** Let executions reach the network (the worker's own). */
  network: boolean;
  limits: SandboxLimits;
  /** More paths executions may read (SPEEDRUNNER_SANDBOX_READABLE, ':'-separated), e.g. a shared cache. */
  readable?: string[];
  /**
   * A delegated cgroup v2 group (SPEEDRUNNER_SANDBOX_CGROUP) holding no process itself, for hosts
   * where the worker's own group has processes (cgroup v2 then refuses child groups with controllers).
   */
  cgroupParent?: string;
}

/** The launcher's `--guard` argument: how to wrap one execution. */
export interface SandboxSpec {
  wrap?: string[];
  writable: string[];
  /** Read-only in the execution's root, beside the system, its Python and `readable_env`'s paths. */
  readable?: string[];
  /** Variables of the execution's environment whose values (paths or globs) it may read. */
  readable_env?: string[];
  network: boolean;
  limits: SandboxLimits;
  cgroup_parent?: string;
}

export interface SandboxPlan {
  spec: SandboxSpec;
  isolated: boolean;
  /** A line for the top of the execution's log when it is not isolated. */
  header?: string;
}

export const LAUNCHER = join(ROOT, 'src', 'exec', 'launcher.py');

function limitsFromEnv(env = process.env): SandboxLimits {
  const num = (name: string) => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got '${v}')`);
    return n;
  };
  return {
    cpu_s: num('SPEEDRUNNER_SANDBOX_CPU_S'),
    memory_mb: num('SPEEDRUNNER_SANDBOX_MEMORY_MB'),
    memory_max_mb: num('SPEEDRUNNER_SANDBOX_MEMORY_MAX_MB') ?? SANDBOX_DEFAULTS.memory_max_mb,
    pids_max: num('SPEEDRUNNER_SANDBOX_PIDS_MAX') ?? SANDBOX_DEFAULTS.pids_max,
    disk_mb: num('SPEEDRUNNER_SANDBOX_DISK_MB') ?? SANDBOX_DEFAULTS.disk_mb,
  };
}

/**
 * Defaults large enough for any honest record: a memory hog meets its own limit before the host's
 * OOM killer picks the worker; torch runs hundreds of threads per rank, far below 8192; checkpoints
 * of a NanoGPT speedrun are a few GB.
 */
export const SANDBOX_DEFAULTS = {
  memory_max_mb: Math.floor((totalmem() / 2 ** 20) * 0.75),
  pids_max: 8192,
  disk_mb: 20_480,
};

/** The execution's environment names its data and the tiktoken cache: those it may read. */
export const READABLE_ENV = ['NANOGPT_TRAIN_FILES', 'NANOGPT_VAL_FILES', 'TIKTOKEN_CACHE_DIR'];

/** A line the guard writes to the log when a limit stopped or refused something. */
export interface LimitHit {
  kind: 'memory' | 'processes' | 'disk' | 'cpu';
  detail: string;
}

/**
 * Reads one log line for a limit the sandbox hit. Agent code can print such a line too: treat it as
 * the version's reason, never as a verdict on anything else.
 */
export function parseLimitLine(line: string): LimitHit | undefined {
  const m = /^\[speedrunner sandbox\] limit: (memory|processes|disk|cpu): (.*)$/.exec(line.trimEnd());
  return m ? { kind: m[1] as LimitHit['kind'], detail: m[2] } : undefined;
}

const probes = new Map<string, { wrap?: string[]; reason?: string }>();
const warned = new Set<string>();

export function parseSandboxMode(value: string): SandboxMode {
  if (!SANDBOX_MODES.includes(value as SandboxMode))
    throw new Error(`--sandbox takes ${SANDBOX_MODES.join(', ')} (got '${value}')`);
  return value as SandboxMode;
}

/** The environment's settings: SPEEDRUNNER_SANDBOX (auto), SPEEDRUNNER_SANDBOX_NETWORK=1. A GPU worker hands its own to its executions. */
export function sandboxSettings(env = process.env): SandboxSettings {
  const readable = (env.SPEEDRUNNER_SANDBOX_READABLE ?? '').split(':').filter(Boolean);
  const cgroupParent = env.SPEEDRUNNER_SANDBOX_CGROUP || undefined;
  return {
    mode: parseSandboxMode(env.SPEEDRUNNER_SANDBOX || 'auto'),
    network: env.SPEEDRUNNER_SANDBOX_NETWORK === '1',
    limits: limitsFromEnv(env),
    readable,
    ...(cgroupParent ? { cgroupParent } : {}),
  };
}

function findUnshare(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  return dirs.map((dir) => join(dir, 'unshare')).find((p) => p.startsWith('/') && existsSync(p));
}

/** The unshare argv variants to try: as root without a user namespace first (keeps file ownership). */
function candidates(unshare: string, network: boolean): string[][] {
  const base = [
    '--mount',
    '--pid',
    '--fork',
    '--kill-child=SIGKILL',
    '--mount-proc',
    '--ipc',
    '--uts',
    '--cgroup',
    ...(network ? [] : ['--net']),
  ];
  const userns = ['--user', '--map-root-user', ...base];
  return (process.getuid?.() === 0 ? [base, userns] : [userns]).map((flags) => [unshare, ...flags]);
}

/** Proves the isolation end to end: the probe must see itself as PID 2, a read-only root without the host's files. */
const PROBE = [
  'import os, sys',
  'assert os.getpid() == 2, "no pid namespace"',
  'assert not os.path.exists("/etc/shadow"), "the host\'s files are visible"',
  'try:\n    open("/.speedrunner-sandbox-probe", "w")\n    sys.exit("root is writable")\nexcept OSError:\n    pass',
  'open(os.path.join(sys.argv[1], "ok"), "w").write("ok")',
].join('\n');

/** Detects, once per (python, network), which unshare invocation isolates an execution here. */
export function probeIsolation(python: string, network: boolean): { wrap?: string[]; reason?: string } {
  const key = `${python}\0${network}`;
  const known = probes.get(key);
  if (known) return known;
  const unshare = findUnshare();
  let result: { wrap?: string[]; reason?: string } = { reason: 'util-linux unshare is not installed' };
  if (unshare && process.platform === 'linux') {
    const dir = mkdtempSync(join(tmpdir(), 'sr-sandbox-probe-'));
    try {
      for (const wrap of candidates(unshare, network)) {
        const spec: SandboxSpec = { writable: [dir], network, limits: {} };
        try {
          execFileSync(
            wrap[0],
            [...wrap.slice(1), python, LAUNCHER, '--inner', JSON.stringify(spec), '--', python, '-c', PROBE, dir],
            {
              cwd: dir,
              stdio: ['ignore', 'pipe', 'pipe'],
              timeout: 30_000,
              env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
            },
          );
          result = { wrap };
          break;
        } catch (e) {
          const err = e as { stderr?: Buffer; message: string };
          const detail = (err.stderr?.toString().trim() || err.message).split('\n').slice(-2).join(' ');
          result = { reason: `${wrap.slice(0, 3).join(' ')} …: ${detail}` };
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (process.platform !== 'linux') {
    result = { reason: `namespaces need Linux (this is ${process.platform})` };
  }
  probes.set(key, result);
  return result;
}

/** Which cgroup limits a guard on this host can set, per controller, and why not where it cannot. */
export interface CgroupProbe {
  controllers: Partial<Record<'memory' | 'pids', 'v1' | 'v2'>>;
  reasons: string[];
}

const cgroupProbes = new Map<string, CgroupProbe>();

/** Makes (and removes) one throwaway child group, as the guard would; once per Python and parent. */
export function probeCgroups(python: string, parent = sandboxSettings().cgroupParent): CgroupProbe {
  const key = `${python}\0${parent ?? ''}`;
  const known = cgroupProbes.get(key);
  if (known) return known;
  let result: CgroupProbe;
  try {
    const out = execFileSync(python, [LAUNCHER, '--cgroup-probe', ...(parent ? [parent] : [])], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    result = JSON.parse(out.trim().split('\n').slice(-1)[0]) as CgroupProbe;
  } catch (e) {
    result = { controllers: {}, reasons: [`cgroup probe failed: ${(e as Error).message.split('\n')[0]}`] };
  }
  cgroupProbes.set(key, result);
  return result;
}

/** Limits asked for in the environment (not defaults): `strict` refuses to run where they cannot hold. */
function explicitCgroupLimits(env = process.env): ('memory' | 'pids')[] {
  return [
    env.SPEEDRUNNER_SANDBOX_MEMORY_MAX_MB ? 'memory' : undefined,
    env.SPEEDRUNNER_SANDBOX_PIDS_MAX ? 'pids' : undefined,
  ].filter((c): c is 'memory' | 'pids' => Boolean(c));
}

/** What this host gives an execution, in one line: for the worker's log and `worker gpu --check`. */
export function describeSandbox(python: string, s: SandboxSettings = sandboxSettings()): string {
  const parts: string[] = [];
  if (s.mode === 'off') parts.push('off (--sandbox off): no isolation');
  else {
    const probe = probeIsolation(python, s.network);
    if (probe.wrap) {
      const ns = probe.wrap.filter((f) => /^--(mount|pid|net|ipc|uts|cgroup|user)$/.test(f)).map((f) => f.slice(2));
      parts.push(
        `isolated (namespaces: ${ns.join(', ')}; allow-list root: workspace rw, data and Python ro, private /tmp and /dev/shm)`,
        s.network ? 'network allowed' : 'no network',
      );
    } else parts.push(`UNAVAILABLE, executions are NOT isolated (${probe.reason})`);
  }
  const cg = probeCgroups(python, s.cgroupParent);
  const { memory_max_mb, pids_max, disk_mb } = s.limits;
  const why = cg.reasons.length ? ` (${cg.reasons.join('; ')})` : '';
  if (memory_max_mb)
    parts.push(
      cg.controllers.memory
        ? `memory ≤ ${memory_max_mb} MiB (cgroup ${cg.controllers.memory})`
        : `memory limit NOT enforced here${why}`,
    );
  if (pids_max)
    parts.push(
      cg.controllers.pids
        ? `processes ≤ ${pids_max} (cgroup ${cg.controllers.pids})`
        : `processes ≤ ${pids_max} per uid, host-wide (RLIMIT_NPROC: no pids cgroup${why})`,
    );
  if (disk_mb) parts.push(`workspace ≤ ${disk_mb} MiB (watched; /tmp tmpfs of that size)`);
  return `sandbox: ${parts.join('; ')}`;
}

function loudWarning(reason: string) {
  const bar = '!'.repeat(78);
  return [
    bar,
    `!! SANDBOX UNAVAILABLE: agent-written code runs WITHOUT isolation on this host.`,
    `!! ${reason}`,
    `!! It can read files the worker can, write outside its workspace and reach the network.`,
    `!! Fix it (see docs/sandbox.md) or start the worker with --sandbox strict to refuse to run.`,
    bar,
  ].join('\n');
}

/**
 * The GPU worker's sandbox (the environment's, with `next` over it), checked now so the worker log says
 * at start whether code is isolated. `strict` throws when it cannot be. The worker hands it to its executions.
 */
export function configureSandbox(next: Partial<SandboxSettings>, python: string): SandboxSettings {
  const settings = { ...sandboxSettings(), ...next };
  if (settings.mode !== 'off') {
    const probe = probeIsolation(python, settings.network);
    if (!probe.wrap && settings.mode === 'strict')
      throw new Error(`--sandbox strict: isolation is unavailable here (${probe.reason}). See docs/sandbox.md.`);
    const cg = probeCgroups(python, settings.cgroupParent);
    const unenforced = explicitCgroupLimits().filter((c) => !cg.controllers[c]);
    if (unenforced.length && settings.mode === 'strict')
      throw new Error(
        `--sandbox strict: the ${unenforced.join(' and ')} limit asked for cannot be set here (${cg.reasons.join('; ') || 'no cgroup'}). See docs/sandbox.md.`,
      );
    if (!probe.wrap) warnOnce(probe.reason ?? 'unknown');
    else console.log(describeSandbox(python, settings));
  } else console.warn(describeSandbox(python, settings));
  return settings;
}

function warnOnce(reason: string) {
  if (warned.has(reason)) return;
  warned.add(reason);
  console.warn(loudWarning(reason));
}

/** How to run one execution whose only writable place is `writable`. */
export function sandboxPlan(python: string, writable: string[], s: SandboxSettings = sandboxSettings()): SandboxPlan {
  const spec: SandboxSpec = {
    writable,
    readable: s.readable ?? [],
    readable_env: READABLE_ENV,
    network: s.network,
    limits: s.limits,
    ...(s.cgroupParent ? { cgroup_parent: s.cgroupParent } : {}),
  };
  if (s.mode === 'off')
    return {
      spec,
      isolated: false,
      header: '[speedrunner] sandbox off (--sandbox off): this execution is not isolated',
    };
  const probe = probeIsolation(python, s.network);
  if (probe.wrap) return { spec: { ...spec, wrap: probe.wrap }, isolated: true };
  if (s.mode === 'strict') throw new Error(`--sandbox strict: isolation is unavailable here (${probe.reason})`);
  warnOnce(probe.reason ?? 'unknown');
  return {
    spec,
    isolated: false,
    header: `[speedrunner] WARNING: SANDBOX UNAVAILABLE, this execution is NOT isolated: ${probe.reason}`,
  };
}
