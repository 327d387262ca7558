import { execa } from 'execa';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DEFAULT_MAX_OUTPUT_MB } from '../config/task';
import { secretValues } from '../secrets/redact';
import { StreamRedactor } from '../secrets/stream-redactor';
import { CappedLog, MIB } from './capped-log';
import { LineSplitter } from './line-splitter';
import { LAUNCHER, sandboxPlan, type SandboxSettings } from './sandbox';
import type { ExecutionOutcome, ProcessResult } from './result';

export type { ExecutionOutcome, ProcessResult } from './result';

export interface ExecutionSpec {
  /** argv of the command, run with `cwd` as its working directory. */
  argv: string[];
  cwd: string;
  /** The complete environment of the child: nothing of the worker's own environment leaks in. */
  env: Record<string, string>;
  timeoutMs: number;
  /** stdout and stderr, interleaved, go here, with secrets cut and at most `maxOutputBytes` of them. */
  logPath: string;
  /** Past this many bytes of output the execution is stopped (`output_limit`); head and tail are kept. */
  maxOutputBytes?: number;
  /** Values cut from the output before anything sees it (default: the secrets this worker holds). */
  secrets?: string[];
  /** Python that runs the process-group guard. */
  python: string;
  /** The only places the command may write (default: its cwd, the workspace). */
  writable?: string[];
  /** The GPU worker passes what it was started with; default: the environment's (see sandbox.ts). */
  sandbox?: SandboxSettings;
  /** Each output line, with its arrival time on the harness clock (ms since spawn). */
  onLine?: (line: string, atMs: number) => void;
  signal?: AbortSignal;
}

/**
 * Runs one execution in its own process group under a guard that dies with us, streams its output to
 * a log file (secrets cut, size capped), and kills the whole group on timeout, cancellation, or output
 * past the cap. Work per output byte is constant: a flood costs its bytes once, never a re-split.
 */
export async function runExecution(spec: ExecutionSpec): Promise<ProcessResult> {
  await mkdir(dirname(spec.logPath), { recursive: true });
  const plan = sandboxPlan(spec.python, spec.writable ?? [spec.cwd], spec.sandbox);
  const log = new CappedLog(spec.logPath, spec.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_MB * MIB);
  if (plan.header) log.note(plan.header);
  const redactor = new StreamRedactor(spec.secrets ?? secretValues());
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

  const lines = spec.onLine ? new LineSplitter(spec.onLine) : undefined;
  const take = (bytes: Buffer, atMs: number) => {
    if (bytes.length === 0) return;
    log.write(bytes);
    lines?.push(bytes, atMs);
  };
  child.all?.on('data', (chunk: Buffer) => {
    take(redactor.push(chunk), performance.now() - started);
    if (log.over && outcome === undefined) {
      outcome = 'output_limit';
      stop();
    }
  });
  const result = await child;
  take(redactor.end(), performance.now() - started);
  const wallMs = Math.round(performance.now() - started);
  clearTimeout(timer);
  clearTimeout(backstop);
  spec.signal?.removeEventListener('abort', onAbort);
  killGroup(); // anything the script left running in its group
  await log.close();
  lines?.end();
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : undefined;
  return { outcome: outcome ?? (exitCode === 0 ? 'ok' : 'failed'), exitCode, wallMs };
}
