import { bundleWorkflowCode } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../src/paths';

export const WORKFLOWS_PATH = join(ROOT, 'temporal', 'workflows', 'index.ts');

function sourceDigest(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) h.update(full).update(readFileSync(full));
    }
  };
  // What workflow code may import: the workflows themselves, core/, and types from src/.
  for (const dir of ['temporal/workflows', 'core', 'src']) walk(join(ROOT, dir));
  return h.digest('hex').slice(0, 16);
}

/**
 * The workflow bundle, built once per source version and cached on disk: every worker process would
 * otherwise spend seconds of CPU bundling the same code at start.
 */
export async function workflowBundlePath(): Promise<string> {
  const dir = join(ROOT, 'node_modules', '.cache', 'speedrunner');
  const path = join(dir, `workflows-${sourceDigest()}.js`);
  if (existsSync(path)) return path;
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never,
  });
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, path);
  return path;
}
