// What can be checked about a run before it starts, checked: a run that would fail on its first
// activity fails here instead, with the reason, as a ConfigError (exit code 2).
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { globSync } from 'tinyglobby';
import { readShardHeader } from '../data/shards';
import { loadKnowledge } from '../agent/knowledge';
import { loadScript } from '../llm/scripted-server';
import { homeDir, ROOT } from '../paths';
import { ConfigError } from './load';
import type { RunConfig } from './schema';

export interface PreflightRoots {
  /** The checkout: built-in scripts, templates and data live here. */
  project: string;
  /** SPEEDRUNNER_HOME: imported tasks and data made by `speedrunner data`. */
  home: string;
}

const inside = (dir: string, path: string) => {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
};

/** The real path (symlinks followed) of an existing file, else the path as given. */
const real = (path: string) => (existsSync(path) ? realpathSync(path) : path);

const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();

/** Every reason the run cannot start; empty when it can. */
export async function preflightProblems(
  config: RunConfig,
  roots: PreflightRoots = { project: ROOT, home: homeDir() },
): Promise<string[]> {
  return [
    ...scriptProblems(config, roots),
    ...templateProblems(config),
    ...knowledgeProblems(config),
    ...(await dataProblems(config)),
  ];
}

/** Throws a ConfigError listing every problem found. */
export async function checkBeforeStart(config: RunConfig, roots?: PreflightRoots): Promise<void> {
  const problems = await preflightProblems(config, roots);
  if (problems.length) throw new ConfigError(`the run cannot start:\n  - ${problems.join('\n  - ')}`);
}

function scriptProblems(config: RunConfig, roots: PreflightRoots): string[] {
  const { script, provider } = config.model;
  if (provider !== 'scripted' || !script) return [];
  const file = resolve(roots.project, script);
  const where = real(file);
  if (![roots.project, roots.home].some((dir) => inside(real(dir), where))) {
    return [
      `model.script '${script}' resolves to ${where}, outside the project (${roots.project}) and SPEEDRUNNER_HOME (${roots.home}); put the script in one of them`,
    ];
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    const builtIn = isDir(join(roots.project, 'data', 'scripts'))
      ? readdirSync(join(roots.project, 'data', 'scripts')).filter((f) => /\.ya?ml$/.test(f))
      : [];
    return [
      `model.script '${script}': no such file (${file}). Built-in scripts: ${builtIn.map((f) => `data/scripts/${f}`).join(', ') || '(none)'}`,
    ];
  }
  try {
    loadScript(file);
  } catch (err) {
    return [`model.script '${script}': ${(err as Error).message.split('\n')[0]}`];
  }
  return [];
}

function templateProblems(config: RunConfig): string[] {
  const { task, task_root } = config;
  const templates = join(task_root, 'workspace_templates');
  const dir = resolve(templates, task.workspace_template);
  if (!inside(templates, dir))
    return [`task '${task.id}': workspace_template '${task.workspace_template}' points outside ${templates}`];
  if (!isDir(dir)) {
    const have = isDir(templates) ? readdirSync(templates).filter((d) => isDir(join(templates, d))) : [];
    return [
      `task '${task.id}': workspace_template '${task.workspace_template}' is not a directory (${dir}). Under ${templates}: ${have.join(', ') || '(nothing)'}`,
    ];
  }
  const entry = join(dir, task.entry_fname);
  if (!existsSync(entry))
    return [`task '${task.id}': entry_fname '${task.entry_fname}' is not in its workspace template (${dir})`];
  return [];
}

/** The hint files the hint level selects and the knowledge globs, as the ideator will read them. */
function knowledgeProblems(config: RunConfig): string[] {
  try {
    loadKnowledge(config);
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * A speedrun task trains on token shards: both globs must be set, match files, and every file must
 * carry a valid shard header. Globs a regex task is given are checked for matches too.
 */
async function dataProblems(config: RunConfig): Promise<string[]> {
  const { task, data } = config;
  const speedrun = task.metric_parser === 'speedrun';
  const problems: string[] = [];
  for (const key of ['train_files', 'val_files'] as const) {
    const glob = data[key];
    if (!glob) {
      if (speedrun)
        problems.push(
          `task '${task.id}' trains on token shards: set data.${key}=<glob of .bin shards> (\`speedrunner data\` makes them and prints the overrides)`,
        );
      continue;
    }
    const files = globSync(glob, { absolute: true, onlyFiles: true });
    if (files.length === 0) {
      problems.push(`data.${key} '${glob}' matches no file`);
      continue;
    }
    if (!speedrun) continue;
    const bad: string[] = [];
    for (const file of files) await readShardHeader(file).catch((err: Error) => bad.push(err.message));
    if (bad.length)
      problems.push(
        `data.${key} '${glob}': ${bad.length} of ${files.length} files are not valid shards: ${bad.slice(0, 3).join('; ')}${bad.length > 3 ? '; …' : ''}`,
      );
  }
  return problems;
}
