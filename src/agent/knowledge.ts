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
    if (!rel) throw new Error(`task '${config.task.id}' has no hint for level ${key} (it has: ${Object.keys(config.task.hints).join(', ') || 'none'})`);
    const file = join(config.task_root, rel);
    if (!existsSync(file)) throw new Error(`hint file ${file} (level ${key}) is missing`);
    parts.push(readFileSync(file, 'utf8').trim());
  }
  for (const pattern of config.knowledge_src_paths) {
    const files = globSync(pattern, { cwd: config.task_root, onlyFiles: true }).sort();
    if (files.length === 0) throw new Error(`knowledge_src_paths: '${pattern}' matches no file under ${config.task_root}`);
    for (const f of files) parts.push(`# ${f}\n${readFileSync(join(config.task_root, f), 'utf8').trim()}`);
  }
  return parts.join('\n\n');
}
