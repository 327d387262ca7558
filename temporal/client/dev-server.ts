import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { homeDir, temporalBinary } from '../../src/paths';
import { searchAttributeFlags } from '../../core/search-attributes';

/** The embedded Temporal dev server: detached, persisting to SQLite under the home dir. */
export interface DevServerInfo {
  pid: number;
  address: string;
  ui: string;
  db: string;
  log: string;
}

export interface DevServerOptions {
  home?: string;
  port?: number;
  uiPort?: number;
  /** Days closed workflows stay visible (the dev server's own default is 1). */
  retentionDays?: number;
  headless?: boolean;
}

export const defaultPort = () => Number(process.env.SPEEDRUNNER_SERVER_PORT ?? 7233);
export const defaultUiPort = () => Number(process.env.SPEEDRUNNER_UI_PORT ?? 8233);
const stateFile = (home: string) => join(home, 'server.json');

export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** A loopback port free right now, for a server started next (tests and benchmarks run their own). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export function readServerInfo(home = homeDir()): DevServerInfo | undefined {
  const f = stateFile(home);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as DevServerInfo) : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts the dev server unless one already answers on the port; registers search attributes and retention. */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServerInfo & { started: boolean }> {
  const home = opts.home ?? homeDir();
  const port = opts.port ?? defaultPort();
  const uiPort = opts.uiPort ?? defaultUiPort();
  const address = `127.0.0.1:${port}`;
  const known = readServerInfo(home);
  if (await isPortOpen(port)) {
    return {
      ...(known ?? { pid: 0, db: '(not started by speedrunner)', log: '' }),
      address,
      ui: `http://127.0.0.1:${uiPort}`,
      started: false,
    };
  }
  mkdirSync(home, { recursive: true });
  const db = join(home, 'temporal.db');
  const log = join(home, 'server.log');
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    db,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--log-level',
    'warn',
    ...searchAttributeFlags(),
  ];
  if (opts.headless) args.push('--headless');
  const out = openSync(log, 'a');
  const child = spawn(temporalBinary(), args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  const info: DevServerInfo = { pid: child.pid!, address, ui: `http://127.0.0.1:${uiPort}`, db, log };
  writeFileSync(stateFile(home), JSON.stringify(info, null, 2));
  const deadline = Date.now() + 60_000;
  while (!(await isPortOpen(port))) {
    if (!isAlive(child.pid!)) throw new Error(`the Temporal dev server exited at start; see ${log}`);
    if (Date.now() > deadline)
      throw new Error(`the Temporal dev server did not open port ${port} within 60 s; see ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  setRetention(address, opts.retentionDays ?? Number(process.env.SPEEDRUNNER_RETENTION_DAYS ?? 30));
  return { ...info, started: true };
}

/** Raises the default namespace's retention so finished runs of a multi-day sweep stay visible. */
export function setRetention(address: string, days: number) {
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync(
        temporalBinary(),
        [
          'operator',
          'namespace',
          'update',
          '--namespace',
          'default',
          '--retention',
          `${days * 24}h`,
          '--address',
          address,
        ],
        { stdio: 'pipe' },
      );
      return;
    } catch (err) {
      if (attempt >= 20)
        throw new Error(`could not set namespace retention: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
      execFileSync('sleep', ['0.5']);
    }
  }
}

/** Stops the server this home dir started (SIGTERM, then SIGKILL), keeping its SQLite file. */
export async function stopDevServer(home = homeDir()): Promise<boolean> {
  const info = readServerInfo(home);
  if (!info || !isAlive(info.pid)) {
    if (info) rmSync(stateFile(home), { force: true });
    return false;
  }
  process.kill(info.pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (isAlive(info.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(info.pid)) process.kill(info.pid, 'SIGKILL');
  rmSync(stateFile(home), { force: true });
  return true;
}
