// Real processes for end-to-end tests: the CLI and long-lived workers as child processes, pointed at a
// real Temporal server and a throw-away SPEEDRUNNER_HOME.
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterEach } from 'vitest';
import { ROOT } from '../../src/paths';
import { dataConverter } from '../../temporal/client/payload-codec';

export const FIXTURE_TASKS = join(ROOT, 'test', 'fixtures', 'tasks');
const CLI = join(ROOT, 'bin', 'speedrunner.js');

export interface TestEnv {
  port: number;
  home: string;
  env: Record<string, string>;
}

export function makeEnv(port: number, extra: Record<string, string> = {}): TestEnv {
  const home = mkdtempSync(join(tmpdir(), 'speedrunner-test-'));
  return {
    port,
    home,
    env: {
      SPEEDRUNNER_HOME: home,
      SPEEDRUNNER_SERVER_PORT: String(port),
      SPEEDRUNNER_TASK_PATH: FIXTURE_TASKS,
      SPEEDRUNNER_SCRATCH: join(home, 'scratch'),
      // Own task queues: a worker of another test on the suite's server must never take our work.
      SPEEDRUNNER_TASK_QUEUE: `test-${randomBytes(4).toString('hex')}`,
      // Tests count and time executions through files outside the workspace, which the sandbox makes
      // read-only; the sandbox has its own tests (test/e2e/sandbox.test.ts, and run-outcomes opts in).
      SPEEDRUNNER_SANDBOX: 'off',
      ...extra,
    },
  };
}

/** Runs the CLI to completion. */
export function cli(t: TestEnv, args: string[], opts: { timeout?: number } = {}) {
  return execa(process.execPath, [CLI, ...args], { env: t.env, reject: false, timeout: opts.timeout ?? 180_000 });
}

export interface WorkerProcess {
  proc: ResultPromise;
  output: () => string;
}

/** Starts `speedrunner worker <kind>` and waits until it says it is up. */
export async function startWorker(
  t: TestEnv,
  kind: 'control' | 'gpu',
  extraEnv: Record<string, string> = {},
): Promise<WorkerProcess> {
  const args = kind === 'gpu' ? ['worker', 'gpu', '--gpus', 'none'] : ['worker', 'control'];
  const proc = execa(process.execPath, [CLI, ...args], {
    env: { ...t.env, ...extraEnv },
    reject: false,
    all: true,
    buffer: false,
  });
  let out = '';
  proc.all?.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 60_000;
  while (!out.includes('worker up')) {
    if (proc.exitCode !== null) throw new Error(`${kind} worker exited at start:\n${out}`);
    if (Date.now() > deadline) throw new Error(`${kind} worker did not come up:\n${out}`);
    await sleep(100);
  }
  return { proc, output: () => out };
}

export async function stopWorker(w: WorkerProcess, signal: NodeJS.Signals = 'SIGTERM') {
  w.proc.kill(signal);
  await w.proc.catch(() => {});
}

export async function connect(port: number): Promise<Client> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  return new Client({ connection, namespace: 'default', dataConverter });
}

/** Cleanups (servers, workers) run after each test of the calling file, newest first. */
export function trackCleanups(): (cleanup: () => Promise<unknown>) => void {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  return (cleanup) => void cleanups.push(cleanup);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Whether any process's command line contains `marker` (to prove no execution outlived its worker). */
export async function processesMatching(marker: string): Promise<string[]> {
  const { stdout } = await execa('ps', ['-eo', 'pid,args'], { reject: false });
  return stdout.split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo'));
}

/** Tiny token shards under `home` and the overrides that point a speedrun task at them (its scripts may ignore them). */
export async function tinyShardOverrides(home: string): Promise<string[]> {
  const { writeShard } = await import('../../src/data/shards');
  const tokens = Array.from({ length: 4096 }, (_, i) => i % 50_000);
  await writeShard(join(home, 'shards', 'fineweb_train_000001.bin'), tokens);
  await writeShard(join(home, 'shards', 'fineweb_val_000000.bin'), tokens);
  return [
    `data.train_files=${join(home, 'shards', 'fineweb_train_*.bin')}`,
    `data.val_files=${join(home, 'shards', 'fineweb_val_*.bin')}`,
  ];
}
