import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ROOT } from '../paths';

/**
 * Isolation of agent-written code, set on the GPU worker (`worker gpu --sandbox auto|strict|off
 * --network`). With Linux namespaces (util-linux `unshare`) an execution sees every mount read-only
 * except its workspace, has a private loopback and no other network, its own PID namespace and
 * /proc (no other process, no worker's environ), and no capabilities. `auto` falls back, loudly, to
 * the plain process-group guard where namespaces are unavailable; `strict` refuses to run instead.
 */
export type SandboxMode = 'auto' | 'strict' | 'off';
export const SANDBOX_MODES: SandboxMode[] = ['auto', 'strict', 'off'];

export interface SandboxLimits {
  /** RLIMIT_CPU of the command, in CPU seconds. */
  cpu_s?: number;
  /** RLIMIT_AS, in MiB. CUDA reserves far more address space than it uses: leave unset on GPU hosts. */
  memory_mb?: number;
}

export interface SandboxSettings {
  mode: SandboxMode;
  /** Let executions reach the network (the worker's own). */
  network: boolean;
  limits: SandboxLimits;
}

/** The launcher's `--guard` argument: how to wrap one execution. */
export interface SandboxSpec {
  wrap?: string[];
  writable: string[];
  network: boolean;
  limits: SandboxLimits;
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
  return { cpu_s: num('SPEEDRUNNER_SANDBOX_CPU_S'), memory_mb: num('SPEEDRUNNER_SANDBOX_MEMORY_MB') };
}

let settings: SandboxSettings | undefined;
const probes = new Map<string, { wrap?: string[]; reason?: string }>();
const warned = new Set<string>();

export function parseSandboxMode(value: string): SandboxMode {
  if (!SANDBOX_MODES.includes(value as SandboxMode)) throw new Error(`--sandbox takes ${SANDBOX_MODES.join(', ')} (got '${value}')`);
  return value as SandboxMode;
}

/** What `configureSandbox` set, else the environment: SPEEDRUNNER_SANDBOX (auto), SPEEDRUNNER_SANDBOX_NETWORK=1. */
export function sandboxSettings(env = process.env): SandboxSettings {
  return settings ?? { mode: parseSandboxMode(env.SPEEDRUNNER_SANDBOX || 'auto'), network: env.SPEEDRUNNER_SANDBOX_NETWORK === '1', limits: limitsFromEnv(env) };
}

function findUnshare(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  return dirs.map((dir) => join(dir, 'unshare')).find((p) => p.startsWith('/') && existsSync(p));
}

/** The unshare argv variants to try: as root without a user namespace first (keeps file ownership). */
function candidates(unshare: string, network: boolean): string[][] {
  const base = ['--mount', '--pid', '--fork', '--kill-child=SIGKILL', '--mount-proc', ...(network ? [] : ['--net'])];
  const userns = ['--user', '--map-root-user', ...base];
  return (process.getuid?.() === 0 ? [base, userns] : [userns]).map((flags) => [unshare, ...flags]);
}

/** Proves the isolation end to end: the probe must see itself as PID 2 and a read-only root. */
const PROBE = [
  'import os, sys',
  'assert os.getpid() == 2, "no pid namespace"',
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
          execFileSync(wrap[0], [...wrap.slice(1), python, LAUNCHER, '--inner', JSON.stringify(spec), '--', python, '-c', PROBE, dir], {
            cwd: dir,
            stdio: ['ignore', 'pipe', 'pipe'],
            timeout: 30_000,
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
          });
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

function loudWarning(reason: string) {
  const bar = '!'.repeat(78);
  return [bar, `!! SANDBOX UNAVAILABLE: agent-written code runs WITHOUT isolation on this host.`, `!! ${reason}`,
    `!! It can read files the worker can, write outside its workspace and reach the network.`,
    `!! Fix it (see docs/sandbox.md) or start the worker with --sandbox strict to refuse to run.`, bar].join('\n');
}

/**
 * Sets the sandbox of this process's executions and checks it now, so the worker log says at start
 * whether code is isolated. `strict` throws when it cannot be.
 */
export function configureSandbox(next: Partial<SandboxSettings>, python: string): SandboxSettings {
  settings = { ...sandboxSettings(), ...next };
  if (settings.mode !== 'off') {
    const probe = probeIsolation(python, settings.network);
    if (!probe.wrap && settings.mode === 'strict') throw new Error(`--sandbox strict: isolation is unavailable here (${probe.reason}). See docs/sandbox.md.`);
    if (!probe.wrap) warnOnce(probe.reason ?? 'unknown');
    else console.log(`sandbox: isolated executions (${probe.wrap.slice(1).join(' ')}${settings.network ? '; network allowed' : '; no network'})`);
  } else console.warn('sandbox: off (--sandbox off): agent-written code runs without isolation');
  return settings;
}

function warnOnce(reason: string) {
  if (warned.has(reason)) return;
  warned.add(reason);
  console.warn(loudWarning(reason));
}

/** How to run one execution whose only writable place is `writable`. */
export function sandboxPlan(python: string, writable: string[], s: SandboxSettings = sandboxSettings()): SandboxPlan {
  const spec: SandboxSpec = { writable, network: s.network, limits: s.limits };
  if (s.mode === 'off') return { spec, isolated: false, header: '[speedrunner] sandbox off (--sandbox off): this execution is not isolated' };
  const probe = probeIsolation(python, s.network);
  if (probe.wrap) return { spec: { ...spec, wrap: probe.wrap }, isolated: true };
  if (s.mode === 'strict') throw new Error(`--sandbox strict: isolation is unavailable here (${probe.reason})`);
  warnOnce(probe.reason ?? 'unknown');
  return { spec, isolated: false, header: `[speedrunner] WARNING: SANDBOX UNAVAILABLE, this execution is NOT isolated: ${probe.reason}` };
}
