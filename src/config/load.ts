import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { homeDir, ROOT } from '../paths';
import { runConfigSchema, modelSchema, scienceRunnerSchema, type RunConfig } from './schema';
import { taskSchema, type TaskConfig } from './task';
import { controlQueue } from '../../core/task-queue';
import { resolveStoreSetting } from '../store/location';
import { translateReferenceKeys } from './reference-aliases';

/** Bad config or overrides: the message says what is wrong and what would be valid. */
export class ConfigError extends Error {}

const GROUPS = { task: taskSchema, model: modelSchema, science_runner: scienceRunnerSchema } as const;
type Group = keyof typeof GROUPS;

/**
 * Roots holding `config/<group>/` trees (and the templates and hints they name): the repository, tasks
 * imported into the home dir, then any directories listed in SPEEDRUNNER_TASK_PATH (colon-separated).
 */
export function configRoots(): string[] {
  const extra = (process.env.SPEEDRUNNER_TASK_PATH ?? '')
    .split(':')
    .filter(Boolean)
    .map((p) => resolve(p));
  return [ROOT, join(homeDir(), 'imported'), ...extra];
}

/** Every id available in a config group (task ids may contain `/`). */
export function listGroup(group: Group): { id: string; file: string; root: string }[] {
  const out = new Map<string, { id: string; file: string; root: string }>();
  for (const root of configRoots()) {
    const dir = join(root, 'config', group);
    for (const file of walkYaml(dir)) {
      const id = relative(dir, file)
        .split(sep)
        .join('/')
        .replace(/\.ya?ml$/, '');
      if (!out.has(id)) out.set(id, { id, file, root });
    }
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

function walkYaml(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return walkYaml(full);
    return /\.ya?ml$/.test(name) ? [full] : [];
  });
}

/**
 * Parsed config files, by path, modification time and size: a sweep resolves thousands of cells from
 * the same few files. Owned by whoever resolves many configs (one per sweep submission), never global.
 */
export class ConfigFiles {
  private readonly parsed = new Map<string, { version: string; value: unknown }>();

  read(file: string): unknown {
    const stat = statIfExists(file);
    const version = stat && `${stat.mtimeMs}:${stat.size}`;
    const cached = this.parsed.get(file);
    if (cached && cached.version === version) return structuredClone(cached.value);
    const value = parseYamlFile(file);
    if (version) this.parsed.set(file, { version, value: structuredClone(value) });
    return value;
  }
}

/** A YAML file's value; with `files`, parsed once while it is unchanged. */
export function readYamlFile(file: string, files?: ConfigFiles): unknown {
  return files ? files.read(file) : parseYamlFile(file);
}

function statIfExists(file: string) {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function parseYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return YAML.parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(`malformed YAML in ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
}

function loadGroupEntry(group: Group, id: string, files?: ConfigFiles): Record<string, unknown> {
  const entry = listGroup(group).find((e) => e.id === id);
  if (!entry) {
    const choices = listGroup(group).map((e) => e.id);
    throw new ConfigError(`unknown ${group} '${id}'. Valid choices: ${choices.join(', ') || '(none)'}`);
  }
  const value = readYamlFile(entry.file, files);
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(`${entry.file} must hold a YAML mapping`);
  const obj: Record<string, unknown> = { ...(value as Record<string, unknown>), id };
  if (group === 'task') obj.__root = entry.root;
  return obj;
}

/** Loads and validates one task by id (for `tasks show` and the run). */
export function loadTask(id: string, files?: ConfigFiles): TaskConfig & { root: string } {
  const { __root, ...raw } = loadGroupEntry('task', id, files);
  return { ...parseOrExplain(taskSchema, raw, `task '${id}'`), root: __root as string };
}

/** `key=value` → [dotted path, YAML-parsed value]. */
export function parseOverride(arg: string): [string[], unknown] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new ConfigError(`override '${arg}' is not of the form key=value`);
  const key = arg.slice(0, eq).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/.test(key)) throw new ConfigError(`bad override key '${key}'`);
  const raw = arg.slice(eq + 1);
  let value: unknown;
  try {
    value = raw === '' ? '' : YAML.parse(raw);
  } catch {
    value = raw;
  }
  return [key.split('.'), value];
}

/** Picks the model `auto` stands for from the credentials present in the environment. */
export function resolveAutoModel(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL) return 'gpt-5';
  if (env.ANTHROPIC_API_KEY) return 'claude-sonnet-4-5';
  return 'scripted';
}

/**
 * The fully resolved run config: defaults (`config/config.yaml`, or an earlier run's config `from`,
 * for a fork), then group selections, then dotted overrides, validated as a whole. Paths come out
 * absolute so workers anywhere read the same thing.
 */
export function resolveRunConfig(
  overrides: string[],
  env: NodeJS.ProcessEnv = process.env,
  from?: RunConfig,
  files?: ConfigFiles,
): RunConfig {
  const base = from
    ? (structuredClone(from) as unknown as Record<string, unknown>)
    : (readYamlFile(join(ROOT, 'config', 'config.yaml'), files) as Record<string, unknown>);
  const topKeys = Object.keys(runConfigSchema.shape);
  const { parsed } = referenceTranslation(overrides, topKeys);
  for (const [path] of parsed) {
    if (!topKeys.includes(path[0])) {
      throw new ConfigError(`unknown config key '${path.join('.')}'. Valid keys: ${topKeys.join(', ')}`);
    }
  }
  const config: Record<string, unknown> = { ...base, task_queue: controlQueue(env) };
  // Group selections first, so dotted overrides apply on top of the chosen file.
  for (const [path, value] of parsed) if (path.length === 1) config[path[0]] = value;
  let presetChosen = false;
  for (const group of Object.keys(GROUPS) as Group[]) {
    let id = config[group];
    if (from && typeof id === 'object') continue; // the earlier run's resolved entry, kept
    if (group === 'model' && id === 'auto') id = resolveAutoModel(env);
    if (typeof id !== 'string') throw new ConfigError(`${group} must name an entry of config/${group}/`);
    config[group] = loadGroupEntry(group, id, files);
    if (group === 'science_runner') presetChosen = true;
  }
  for (const [path, value] of parsed) if (path.length > 1) setPath(config, path, value);
  // A preset's n_iterations (the paper's: flat 1, the other scaffolds 20) beats config.yaml's default,
  // never an n_iterations given on the command line.
  const presetIterations = (config.science_runner as Record<string, unknown>).n_iterations;
  if (
    presetChosen &&
    presetIterations !== undefined &&
    !parsed.some(([path]) => path.length === 1 && path[0] === 'n_iterations')
  ) {
    config.n_iterations = presetIterations;
  }

  const task = config.task as Record<string, unknown>;
  if (task.__root) config.task_root = task.__root;
  delete task.__root;
  if (typeof config.hint_level === 'number') config.hint_level = String(config.hint_level);
  const model = config.model as Record<string, unknown>;
  if (model.provider === 'scripted' && !model.script) model.script = defaultScript(String(task.id));
  // The scripted model reads `join(ROOT, script)`: an absolute path (e.g. under SPEEDRUNNER_HOME) is kept as one relative to ROOT.
  if (typeof model.script === 'string' && isAbsolute(model.script)) model.script = relative(ROOT, model.script);
  // Executions run in a scratch directory: data globs are made absolute against where the run was started.
  const data = config.data as Record<string, unknown> | undefined;
  for (const key of ['train_files', 'val_files']) {
    if (data && typeof data[key] === 'string' && data[key] !== '' && !isAbsolute(data[key] as string))
      data[key] = resolve(data[key] as string);
  }
  if (typeof config.store === 'string') {
    try {
      config.store = resolveStoreSetting(config.store, homeDir()); // s3:// kept, file:// and relative paths made absolute
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  if (typeof config.workspace_dir === 'string' && !isAbsolute(config.workspace_dir))
    config.workspace_dir = resolve(homeDir(), config.workspace_dir);
  const run = parseOrExplain(runConfigSchema, config, 'config');
  if (run.task.private_metrics.includes(run.task.selection_metric)) {
    throw new ConfigError(
      `task '${run.task.id}': the selection metric '${run.task.selection_metric}' cannot be private (the agent must see what it optimises)`,
    );
  }
  // ideator=dummy without a hint is the paper's no-hint run: the coder gets the zero-knowledge
  // plan-then-implement prompt (src/coders/coder-prompt.ts).
  return run;
}

/** Overrides in our keys, with the notes on the reference spellings they used; a refused key is a ConfigError. */
function referenceTranslation(overrides: string[], topKeys: string[]) {
  const translated = translateReferenceKeys(overrides.map(parseOverride), topKeys);
  if (translated.refused) throw new ConfigError(translated.refused);
  return translated;
}

/**
 * One line per reference spelling the overrides use (`model=o3_mini`, `science_runner_args.debug_prob=…`):
 * what each became, or why it has no effect. For `config show` and `run` to print (on stderr).
 */
export function referenceNotes(overrides: string[]): string[] {
  return referenceTranslation(overrides, Object.keys(runConfigSchema.shape)).notes;
}

function defaultScript(taskId: string) {
  const own = `data/scripts/${taskId.replace(/\//g, '_')}.yaml`;
  return existsSync(join(ROOT, own)) ? own : 'data/scripts/default.yaml';
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown) {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

function parseOrExplain<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const at = issue.path.join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const valid = shapeKeys(schema, issue.path);
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${[...issue.path, k].join('.')}'`).join(', ')}${valid ? `. Valid keys: ${valid.join(', ')}` : ''}`;
    }
    if (issue.code === 'invalid_value' && 'values' in issue) {
      return `${at}: invalid value. Valid choices: ${(issue.values as unknown[]).join(', ')}`;
    }
    return `${at}: ${issue.message}`;
  });
  throw new ConfigError(`invalid ${what}:\n  - ${lines.join('\n  - ')}`);
}

/** The keys a strict object schema accepts at `path`, for "valid keys" hints. */
function shapeKeys(schema: z.ZodType, path: PropertyKey[]): string[] | undefined {
  let cur: unknown = schema;
  for (const key of path) {
    cur = unwrap(cur);
    const shape = (cur as { shape?: Record<string, unknown> }).shape;
    if (!shape) return undefined;
    cur = shape[String(key)];
  }
  const shape = (unwrap(cur) as { shape?: Record<string, unknown> })?.shape;
  return shape ? Object.keys(shape) : undefined;
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { innerType?: unknown; type?: string } };
  while (cur?.def?.innerType) cur = cur.def.innerType as typeof cur;
  return cur;
}
