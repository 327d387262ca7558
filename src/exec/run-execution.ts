import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ROOT } from '../paths';

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
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ExecutionResult {
  outcome: ExecutionOutcome;
  exitCode?: number;
  /** Wall-clock time measured by the harness, from spawn to exit. */
  wallMs: number;
}

const LAUNCHER = join(ROOT, 'src', 'exec', 'launcher.py');

/**
 * Runs one execution in its own process group under a guard that dies with us, streams its output to
 * a log file, and kills the whole group on timeout or cancellation.
 */
export async function runExecution(spec: ExecutionSpec): Promise<ExecutionResult> {
  await mkdir(dirname(spec.logPath), { recursive: true });
  const log = createWriteStream(spec.logPath);
  const started = performance.now();
  const child = execa(spec.python, [LAUNCHER, ...spec.argv], {
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
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  let outcome: ExecutionOutcome | undefined;
  const timer = setTimeout(() => {
    outcome ??= 'timeout';
    killGroup();
  }, spec.timeoutMs);
  const onAbort = () => {
    outcome ??= 'cancelled';
    killGroup();
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
  spec.signal?.removeEventListener('abort', onAbort);
  killGroup(); // anything the script left running in its group
  await new Promise<void>((resolve) => log.end(resolve));
  if (pending && spec.onLine) spec.onLine(pending);
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : undefined;
  return { outcome: outcome ?? (exitCode === 0 ? 'ok' : 'failed'), exitCode, wallMs };
}
