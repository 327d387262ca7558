// The prebuilt CLI (scripts/build-cli.mjs): it answers as the sources do, leaves the heavy packages
// unloaded until used, and says what the environment says (ports, queues, a server that is down).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../src/paths';
import { ArtifactStore } from '../../src/store/artifact-store';
import { syntheticRun } from '../../bench/report-size';
// @ts-expect-error plain ESM script without types
import { buildCli, currentBundle, lazyModule } from '../../scripts/build-cli.mjs';

const home = mkdtempSync(join(tmpdir(), 'speedrunner-cli-bundle-'));
let entry: string;

/** Runs the bundle directly (never the tsx fallback), with a preload that lists the packages loaded by exit. */
function bundled(args: string[], env: Record<string, string> = {}) {
  const preload = join(home, 'loaded.cjs');
  writeFileSync(
    preload,
    "process.on('exit', () => require('fs').writeFileSync(process.env.LOADED_OUT, Object.keys(require.cache).join('\\n')));\n",
  );
  const loadedOut = join(home, `loaded-${args.join('_').replace(/\W/g, '')}.txt`);
  const res = spawnSync(process.execPath, ['--require', preload, entry, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      SPEEDRUNNER_HOME: home,
      SPEEDRUNNER_SERVER_PORT: '1',
      TEMPORAL_ADDRESS: '',
      LOADED_OUT: loadedOut,
      ...env,
    },
  });
  return { ...res, loaded: readFileSync(loadedOut, 'utf8') };
}

beforeAll(async () => {
  await buildCli();
  entry = currentBundle() ?? (await buildCli({ force: true }), currentBundle());
  expect(entry).toMatch(/dist\/cli-[0-9a-f]{16}\/cli\.mjs$/);
  const store = new ArtifactStore(join(home, 'store'));
  const view = { ...(await syntheticRun(store, 4, 'run-cpu')), task: 'collatz' };
  await store.setRef('runs/run-cpu/view', await store.putJson(view));
}, 120_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('the prebuilt CLI', () => {
  it('prints the version and help without loading the LLM SDKs, S3 or the worker runtime', () => {
    const version = bundled(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const help = bundled(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: speedrunner/);
    expect(help.stdout).toMatch(/^\s+report /m);
    for (const heavy of ['@anthropic-ai', '/openai/', '@aws-sdk', '@temporalio/worker', '@temporalio/core-bridge'])
      expect(help.loaded).not.toContain(heavy);
  });

  it('says the ports and queues the environment names, and describes every command', () => {
    const env = { SPEEDRUNNER_UI_PORT: '18999', SPEEDRUNNER_TASK_QUEUE: 'fleet-b' };
    expect(bundled(['server', '--help'], env).stdout.replace(/\s+/g, ' ')).toContain('UI on :18999');
    const worker = bundled(['worker', '--help'], env).stdout;
    expect(worker).toContain('(queue fleet-b)');
    expect(worker).toContain('(queue fleet-b-gpu)');
    expect(worker).not.toMatch(/queue speedrunner/);
    for (const group of ['server', 'tasks']) {
      const lines = bundled([group, '--help'])
        .stdout.split('Commands:')[1]
        .split('\n')
        .filter((l) => /^ {2}\S/.test(l) && !l.includes('help [command]'));
      expect(lines.length).toBeGreaterThan(1);
      for (const l of lines) expect(l.trim(), `${group}: ${l}`).toMatch(/^\S+( \[options\]| <\w+>)*\s{2,}\S/);
    }
  });

  it('status with the server down says so at once, and counts CPU device time as such', () => {
    const started = Date.now();
    const res = bundled(['status', 'run-cpu']);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('the Temporal server is down');
    expect(res.stdout).not.toContain('no worker');
    expect(res.stdout).toMatch(/executions: [\d.]+ device-seconds \(CPU\)/);
    // Not a speed bound (the box is shared): the SDK's 10 s connect retry must not be waited out.
    expect(Date.now() - started).toBeLessThan(8000);
  });
});

describe('lazy packages in the bundle', () => {
  it('reach the real exports on first use: calls, new, instanceof and static members', async () => {
    const dir = join(ROOT, 'node_modules', '.cache', 'speedrunner-test');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `lazy-worker-${process.pid}.mjs`);
    writeFileSync(file, lazyModule('@temporalio/worker'));
    try {
      const lazy = await import(pathToFileURL(file).href);
      const real = await import('@temporalio/worker');
      const logger = new lazy.DefaultLogger('WARN');
      expect(logger).toBeInstanceOf(real.DefaultLogger);
      expect(logger).toBeInstanceOf(lazy.DefaultLogger);
      expect(typeof lazy.Worker.create).toBe('function');
      expect(lazy.Runtime.instance).toBe(real.Runtime.instance);
      class Sub extends lazy.DefaultLogger {}
      expect(Reflect.construct(Sub, ['WARN'])).toBeInstanceOf(real.DefaultLogger);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('bin/speedrunner.js answers through the bundle or, with SPEEDRUNNER_NO_BUNDLE=1, through tsx alike', () => {
    const run = (env: Record<string, string>) =>
      execFileSync(process.execPath, [join(ROOT, 'bin', 'speedrunner.js'), 'tasks', 'list'], {
        encoding: 'utf8',
        env: { ...process.env, SPEEDRUNNER_HOME: home, ...env },
      });
    expect(run({})).toBe(run({ SPEEDRUNNER_NO_BUNDLE: '1' }));
  });
});
