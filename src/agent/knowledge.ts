import { readFileSync, existsSync } from 'node:fs';
import { globSync } from 'tinyglobby';
import { join } from 'node:path';
import type { RunConfig } from '../config/schema';

/** Hint files a hint level selects: `1+2` means levels 1 and 2; `0` none (open-ended mode). */
export function hintKeys(level: RunConfig['hint_level']): string[] {
  return level === '0' ? [] : level.split('+');
}

/** The knowledge shown to the agent: the task's hints for the level, then `knowledge_src_paths` files. */
export function loadKnowledge(config: RunConfig): string {
  const parts: string[] = [];
  for (const key of hintKeys(config.hint_level)) {
    const rel = config.task.hints[key];
    if (!rel)
      throw new Error(
        `task '${config.task.id}' has no hint for level ${key} (it has: ${Object.keys(config.task.hints).join(', ') || 'none'})`,
      );
    const file = join(config.task_root, rel);
    if (!existsSync(file)) throw new Error(`hint file ${file} (level ${key}) is missing`);
    parts.push(readFileSync(file, 'utf8').trim());
  }
  for (const pattern of config.knowledge_src_paths) {
    const files = knowledgeFiles(pattern, config.task_root);
    if (files === 'none') continue;
    if (files.length === 0)
      throw new Error(`knowledge_src_paths: '${pattern}' matches no file under ${config.task_root}`);
    for (const f of files) parts.push(`# ${f}\n${readFileSync(join(config.task_root, f), 'utf8').trim()}`);
  }
  return parts.join('\n\n');
}

/**
 * The files a knowledge glob selects. The paper's launcher writes its hint levels into the glob
 * (`record_R/level_<L>_*.txt`): `z` selects nothing on purpose (the no-hint runs), and `5` is the
 * mini-paper, which the reference checkout has since renamed `level_3_paper.txt`.
 */
export function knowledgeFiles(pattern: string, root: string): string[] | 'none' {
  if (/(^|\/)level_z_[^/]*$/.test(pattern)) return 'none';
  const files = globSync(pattern, { cwd: root, onlyFiles: true }).sort();
  if (files.length > 0 || !/(^|\/)level_5_[^/]*$/.test(pattern)) return files;
  return globSync(pattern.replace(/level_5_([^/]*)$/, 'level_3_$1'), { cwd: root, onlyFiles: true })
    .filter((f) => /paper/.test(f))
    .sort();
}
