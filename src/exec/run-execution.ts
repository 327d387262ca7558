import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LAUNCHER, sandboxPlan, type SandboxSettings } from './sandbox';

export type ExecutionOutcome = 'ok' | 'failed' | 'timeout' | 'cancelled';

export interface ExecutionSpec {
  /** argv of the command, run with `cwd` as its working directory. */
  argv: string[];
  cwd: string;
  /** The complete environment of the child: nothing of the worker's own environment leaks in. */
  env: Record<string, string>;
  timeoutMs: number;
  /** stdout and stderr, interleaved, go here. */
  logPath: string;
  /** Python that runs the process-group guard. */
  python: string;
  /** The only places the command may write (default: its cwd, the workspace). */
  writable?: string[];
  /** Default: what the GPU worker was started with (see sandbox.ts). */
  sandbox?: SandboxSettings;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ExecutionResult {
  outcome: ExecutionOutcome;
  exitCode?: number;
  /** Wall-clock time measured by the harness, from spawn to exit. */
  wallMs: number;
}

/**
 * Runs one execution in its own process group under a guard that dies with us, streams its output to
 * a log file, and kills the whole group on timeout or cancellation.
 */
export async function runExecution(spec: ExecutionSpec): Promise<ExecutionResult> {
  await mkdir(dirname(spec.logPath), { recursive: true });
  const plan = sandboxPlan(spec.python, spec.writable ?? [spec.cwd], spec.sandbox);
  const log = createWriteStream(spec.logPath);
  if (plan.header) log.write(`${plan.header}\n`);
  const started = performance.now();
  const child = execa(spec.python, [LAUNCHER, '--guard', JSON.stringify(plan.spec), '--', ...spec.argv], {
    cwd: spec.cwd,
    env: { ...spec.env, SPEEDRUNNER_PARENT_PID: String(process.pid) },
    extendEnv: false,
    detached: true, // new session: the guard leads the process group we kill
    reject: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
    cleanup: false,
  });
  const signalGuard = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  const killGroup = () => child.pid && signalGuard(-child.pid, 'SIGKILL');
  // SIGTERM first: the guard also kills what escaped the group (setsid), then the group; SIGKILL if it hangs.
  let backstop: NodeJS.Timeout | undefined;
  const stop = () => {
    if (!child.pid) return;
    signalGuard(child.pid, 'SIGTERM');
    backstop ??= setTimeout(killGroup, 2000);
  };
  let outcome: ExecutionOutcome | undefined;
  const timer = setTimeout(() => {
    outcome ??= 'timeout';
    stop();
  }, spec.timeoutMs);
  const onAbort = () => {
    outcome ??= 'cancelled';
    stop();
  };
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  if (spec.signal?.aborted) onAbort();

  let pending = '';
  child.all?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (!spec.onLine) return;
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) spec.onLine(line);
  });
  const result = await child;
  const wallMs = Math.round(performance.now() - started);
  clearTimeout(timer);
  clearTimeout(backstop);
  spec.signal?.removeEventListener('abort', onAbort);
  killGroup(); // anything the script left running in its group
  await new Promise<void>((resolve) => log.end(resolve));
  if (pending && spec.onLine) spec.onLine(pending);
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : undefined;
  return { outcome: outcome ?? (exitCode === 0 ? 'ok' : 'failed'), exitCode, wallMs };
}
