// A static verdict on a patch against a task's starting code (`speedrunner integrity check`).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskConfig } from '../config/task';
import { applyToFiles } from './patch';
import { checkChanges } from './static-rules';
import type { IntegrityVerdict } from './rules';

/** The files an agent may edit, as the task's workspace template has them. */
export function startingFiles(task: TaskConfig & { root: string }): Record<string, string> {
  const dir = join(task.root, 'workspace_templates', task.workspace_template);
  const files: Record<string, string> = {};
  for (const f of task.fnames) {
    const p = join(dir, f);
    if (existsSync(p)) files[f] = readFileSync(p, 'utf8');
  }
  return files;
}

/** Applies the patch to the starting files (PatchError when it does not apply) and checks the result. */
export function checkPatchForTask(
  task: TaskConfig & { root: string },
  patch: string,
  valTokens: number,
): IntegrityVerdict & { files: string[] } {
  const changes = applyToFiles(startingFiles(task), patch, task.entry_fname);
  return { ...checkChanges(changes, { valTokens }), files: changes.map((c) => c.path) };
}
