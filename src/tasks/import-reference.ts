/**
 * Imports the NanoGPT speedrun tasks of a facebookresearch/llm-speedrunner checkout into our
 * layout ("imported root"), so `loadTask('nanogpt_speedrun/speedrun_record_R')` finds them.
 *
 * Reference layout (what is read):
 *   config/task/nanogpt_speedrun/speedrun_record_R.yaml      Hydra task config (R = 1..20)
 *   workspace_templates/nanogpt_speedrun/record_R/           train_gpt2.py + results.json (R = 1..21)
 *   data/nanogpt_speedrun_knowledge_in_levels/record_R/      level_<L>_<kind>.txt hints for R → R+1
 * Task R starts from record R's code; its human baseline is record R's re-measured train_time
 * and its target is record R+1's.
 *
 * Written under destRoot:
 *   config/task/nanogpt_speedrun/speedrun_record_R.yaml      validated against taskSchema
 *   workspace_templates/nanogpt_speedrun/record_R/           copied starting code
 *   data/nanogpt_speedrun_knowledge_in_levels/record_R/      copied hint files, in the reference's own
 *                                                            layout, so its knowledge_src_paths globs
 *                                                            (`…/record_1/level_1_*.txt`) match here too
 *   data/nanogpt_speedrun_knowledge_in_levels/*.md           the shared extra knowledge (flex_attn.md, …)
 * Task fields come from `exp_config_args` (where the reference keeps them; the top level is read
 * when a field is not there), packages from `workspace_args.packages` of the root config/default.yaml,
 * timeout and launcher from `slurm_config_args`. docs/reference-keys.md lists every key and its fate.
 * Re-importing rewrites only what changed and removes files the reference no longer has from
 * the directories it owns, so the result is the same however often it runs.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import YAML from 'yaml';
import { taskSchema, type TaskInput } from '../config/task';

const GROUP = 'nanogpt_speedrun';
const TASK_FILE = /^speedrun_record_(\d+)\.ya?ml$/;
const TARGET_VAL_LOSS = 3.28;
const DEFAULT_ENTRY = 'train_gpt2.py';
const KNOWLEDGE_DIR = 'data/nanogpt_speedrun_knowledge_in_levels';
/** Execution limit when the reference states none (its slurm job_ttl is 60 minutes). */
const DEFAULT_TIMEOUT_S = 3600;
/** Metrics the speedrun log parser produces, with their types; the reference calls `step` `n_steps`. */
const SPEEDRUN_METRICS = { val_loss: 'float', train_time: 'float', step: 'int' } as const;
const METRIC_RENAMES: Record<string, string> = { n_steps: 'step' };
/** Shared knowledge files at the top of the knowledge dir; llm_logs.jsonl (≈3 MB of the authors' LLM logs) is not knowledge. */
const SHARED_KNOWLEDGE = /\.(md|txt)$/;

export interface ImportOptions {
  /** Only these records' tasks (default: every `speedrun_record_R.yaml` found). */
  records?: number[];
  /** Tasks imported with `records.excluded_from_scores: true` (default [6]: 6 → 7 is a PyTorch upgrade with identical code). */
  excludedRecords?: number[];
  /** Execution timeout written into each task (default: the reference's slurm job_ttl, else 3600 s). */
  timeoutS?: number;
}

export type FileStatus = 'created' | 'unchanged' | 'updated' | 'removed';
export type TaskStatus = 'created' | 'unchanged' | 'updated';

export interface ImportedTask {
  id: string;
  record: number;
  status: TaskStatus;
  baselineMs: number;
  targetMs: number;
  excludedFromScores: boolean;
  /** Paths relative to destRoot. */
  files: { path: string; status: FileStatus }[];
  warnings: string[];
}

export interface FailedTask {
  id: string;
  record: number;
  error: string;
}

export interface ImportSummary {
  refRoot: string;
  destRoot: string;
  tasks: ImportedTask[];
  failed: FailedTask[];
  /** Every warning, task ones included, each naming the file it is about. */
  warnings: string[];
  counts: Record<TaskStatus | 'failed', number>;
  /** Knowledge files shared by the tasks (`data/nanogpt_speedrun_knowledge_in_levels/*.md`), relative to destRoot. */
  shared: { path: string; status: FileStatus }[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Hydra-like merge: mappings merge key by key, anything else is replaced. */
function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k] as Obj, v) : v;
  return out;
}

async function readYaml(file: string): Promise<Obj> {
  let value: unknown;
  try {
    value = YAML.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(
      `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `malformed YAML: ${(err as Error).message.split('\n')[0]}`}`,
    );
  }
  if (value === null || value === undefined) return {};
  if (!isObj(value)) throw new Error(`${file}: expected a YAML mapping`);
  return value;
}

/**
 * A Hydra config with its `defaults` list merged in (defaults first, the file's own keys on
 * top). Entries are looked up relative to `config/task`, then the file's directory, then
 * `config/`; `_self_`, `override …` and unknown forms are skipped; what is not found is a warning.
 */
async function loadHydraConfig(
  file: string,
  configRoot: string,
  warnings: string[],
  seen = new Set<string>(),
): Promise<Obj> {
  if (seen.has(file)) throw new Error(`${file}: defaults form a cycle`);
  seen.add(file);
  const { defaults, ...own } = await readYaml(file);
  let merged: Obj = {};
  for (const entry of Array.isArray(defaults) ? defaults : []) {
    let name: string | undefined;
    if (typeof entry === 'string') name = entry;
    else if (isObj(entry) && Object.keys(entry).length === 1) {
      const [k, v] = Object.entries(entry)[0];
      if (!k.startsWith('override ') && typeof v === 'string') name = `${k.replace(/^optional /, '')}/${v}`;
    }
    if (name === '_self_') continue;
    if (name === undefined) {
      warnings.push(`${file}: skipped defaults entry ${JSON.stringify(entry)}`);
      continue;
    }
    const rel = name.replace(/^\//, '');
    const dirs = name.startsWith('/') ? [configRoot] : [join(configRoot, 'task'), dirname(file), configRoot];
    const found = dirs.map((d) => join(d, `${rel}.yaml`)).find((p) => existsSync(p));
    if (!found) {
      warnings.push(`${file}: defaults entry "${name}" not found (looked in ${dirs.join(', ')})`);
      continue;
    }
    merged = deepMerge(merged, await loadHydraConfig(found, configRoot, warnings, seen));
  }
  return deepMerge(merged, own);
}

/** `${a.b}` references to other keys are filled in; resolvers (`${oc.env:USER}`) cannot be. */
function interpolate(text: string, cfg: Obj, depth = 0): { text: string; unresolved: string[] } {
  const unresolved: string[] = [];
  const out = text.replace(/\$\{([^${}]+)\}/g, (whole, ref: string) => {
    const key = ref.trim();
    let value: unknown = /^[A-Za-z_]\w*(\.\w+)*$/.test(key) ? cfg : undefined;
    for (const part of key.split('.')) value = isObj(value) ? value[part] : undefined;
    if (typeof value === 'string' && depth < 10) {
      const inner = interpolate(value, cfg, depth + 1);
      unresolved.push(...inner.unresolved);
      return inner.text;
    }
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    unresolved.push(whole);
    return whole;
  });
  return { text: out, unresolved };
}

/**
 * Where a task field lives in the reference: under `exp_config_args` (its ExperimentConfig), or, in
 * older or hand-written configs, at the top level. Returns the dotted name (for warnings) and the value.
 */
function taskField(cfg: Obj, key: string): { name: string; value: unknown } {
  const exp = isObj(cfg.exp_config_args) ? cfg.exp_config_args : {};
  if (exp[key] !== undefined) return { name: `exp_config_args.${key}`, value: exp[key] };
  return { name: key, value: cfg[key] };
}

/** A string field of the reference config with interpolations filled, or undefined (with a warning). */
function stringField(cfg: Obj, key: string, file: string, warnings: string[]): string | undefined {
  const { name, value: raw } = taskField(cfg, key);
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') {
    warnings.push(`${file}: ${name} is not a string; ignored`);
    return undefined;
  }
  const { text, unresolved } = interpolate(raw, cfg);
  if (unresolved.length > 0) {
    warnings.push(`${file}: ${name} uses ${unresolved.join(', ')}, which cannot be resolved here; ignored`);
    return undefined;
  }
  // The reference writes line breaks as a literal `\n` inside folded (`>-`) scalars, which YAML keeps
  // as two characters; the model should see the lines the authors meant.
  return text
    .replace(/[ \t]*\\n[ \t]*\n?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** A mapping of numbers (metric bounds), interpolations filled; what is not a number is a warning. */
function numberMap(cfg: Obj, key: string, file: string, warnings: string[]): Record<string, number> {
  const { name, value } = taskField(cfg, key);
  if (value === undefined || value === null) return {};
  if (!isObj(value)) {
    warnings.push(`${file}: ${name} is not a mapping; ignored`);
    return {};
  }
  const out: Record<string, number> = {};
  for (const [metric, raw] of Object.entries(value)) {
    const n = typeof raw === 'string' ? Number(interpolate(raw, cfg).text) : raw;
    if (typeof n === 'number' && Number.isFinite(n)) out[METRIC_RENAMES[metric] ?? metric] = n;
    else warnings.push(`${file}: ${name}.${metric} is not a number; ignored`);
  }
  return out;
}

/** Metric types (`int`/`float`, the reference also writes Python's `str`/`bool`, which we cannot parse). */
function metricTypes(cfg: Obj, key: string, file: string, warnings: string[]): Record<string, 'int' | 'float'> {
  const { name, value } = taskField(cfg, key);
  const out: Record<string, 'int' | 'float'> = {};
  if (!isObj(value)) return out;
  for (const [metric, type] of Object.entries(value)) {
    if (type === 'int' || type === 'float') out[METRIC_RENAMES[metric] ?? metric] = type;
    else
      warnings.push(`${file}: ${name}.${metric} has type ${JSON.stringify(type)}; only int and float metrics are read`);
  }
  return out;
}

/** A positive number of the reference config (e.g. `slurm_config_args.job_ttl`), or undefined. */
function positiveNumber(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The root config/default.yaml's own keys (`workspace_args.packages`, …); task configs are `@package _global_` on top of it. */
async function loadRootConfig(refRoot: string, warnings: string[]): Promise<Obj> {
  const file = join(refRoot, 'config', 'default.yaml');
  if (!existsSync(file)) {
    warnings.push(`${file}: missing; tasks get no package list`);
    return {};
  }
  const { defaults: _defaults, hydra: _hydra, ...own } = await readYaml(file);
  return own;
}

/** train_time (ms) of a record's results.json: `metrics.train_time`, or a top-level one. */
async function readTrainTime(file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(`missing ${file}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const metrics = isObj(json) && isObj(json.metrics) ? json.metrics : isObj(json) ? json : {};
  const raw = metrics.train_time;
  const ms = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.replace(/ms$/, '')) : NaN;
  if (raw === undefined) throw new Error(`${file}: has no metrics.train_time`);
  if (!Number.isFinite(ms) || ms <= 0)
    throw new Error(`${file}: metrics.train_time ${JSON.stringify(raw)} is not a positive number of ms`);
  return ms;
}

/** Files under dir (recursively), relative to it, skipping dotfiles and `__pycache__`. */
async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.') || name === '__pycache__') continue;
    const full = join(dir, name);
    if ((await stat(full)).isDirectory()) out.push(...(await listFiles(full)).map((f) => `${name}/${f}`));
    else out.push(name);
  }
  return out;
}

interface HintPick {
  key: string;
  file: string;
}

/**
 * Hint files of one record: level 1 (pseudocode), 2 (description), 3 (mini-paper: `*paper*`
 * preferred over e.g. `level_3_tweets.txt`; older checkouts named it `level_5_paper.txt`),
 * `diff` (level 0) and extra reference docs (level 9).
 */
function pickHints(names: string[], hintDir: string, record: number, warnings: string[]): HintPick[] {
  const picks: HintPick[] = [];
  const levels: { key: string; level: number; what: string }[] = [
    { key: '1', level: 1, what: 'pseudo' },
    { key: '2', level: 2, what: 'description' },
    { key: '3', level: 3, what: 'paper' },
    { key: 'diff', level: 0, what: 'diff' },
  ];
  for (const { key, level, what } of levels) {
    const candidates = names.filter((n) => n.startsWith(`level_${level}_`) && n.endsWith('.txt'));
    let file = candidates.find((n) => n.includes(what)) ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (!file && level === 3) file = names.find((n) => /^level_5_.*paper.*\.txt$/.test(n));
    if (!file && candidates.length > 1) {
      file = candidates[0];
      warnings.push(`${hintDir}: several level ${level} hints (${candidates.join(', ')}); using ${file}`);
    }
    if (!file) {
      warnings.push(
        `record ${record}: no level ${level} (${what}) hint: missing ${join(hintDir, `level_${level}_${what}.txt`)}`,
      );
      continue;
    }
    picks.push({ key, file });
  }
  const extras = names.filter((n) => /^level_9_.+\.txt$/.test(n));
  for (const file of extras) picks.push({ key: extras.length === 1 ? '9' : `9_${file.slice(8, -4)}`, file });
  return picks;
}

/** One task's planned output: destRoot-relative path → content, and the directories it owns. */
interface Plan {
  id: string;
  record: number;
  baselineMs: number;
  targetMs: number;
  excluded: boolean;
  files: Map<string, Buffer>;
  ownedDirs: string[];
  warnings: string[];
}

async function planTask(
  refRoot: string,
  record: number,
  taskFile: string,
  rootCfg: Obj,
  opts: ImportOptions,
): Promise<Plan> {
  const warnings: string[] = [];
  const id = `${GROUP}/speedrun_record_${record}`;
  const cfg = deepMerge(rootCfg, await loadHydraConfig(taskFile, join(refRoot, 'config'), warnings));

  const expectedTemplate = `${GROUP}/record_${record}`;
  let templateName = expectedTemplate;
  if (
    typeof cfg.template_dirname === 'string' &&
    /^[\w.-]+(\/[\w.-]+)*$/.test(cfg.template_dirname) &&
    !cfg.template_dirname.split('/').includes('..')
  ) {
    templateName = cfg.template_dirname;
    if (templateName !== expectedTemplate)
      warnings.push(`${taskFile}: template_dirname is ${templateName}, not ${expectedTemplate}; copying from it`);
  } else if (cfg.template_dirname !== undefined) {
    warnings.push(
      `${taskFile}: unusable template_dirname ${JSON.stringify(cfg.template_dirname)}; using ${expectedTemplate}`,
    );
  }
  const srcTemplate = join(refRoot, 'workspace_templates', templateName);
  if (!existsSync(srcTemplate)) throw new Error(`missing starting code directory ${srcTemplate}`);

  const entryField = taskField(cfg, 'entry_fname').value;
  const entry = typeof entryField === 'string' && entryField.trim() ? entryField.trim() : DEFAULT_ENTRY;
  const fnamesField = taskField(cfg, 'fnames').value;
  const fnames =
    Array.isArray(fnamesField) &&
    fnamesField.length > 0 &&
    fnamesField.every((f) => typeof f === 'string' && !f.includes('${'))
      ? (fnamesField as string[])
      : [entry];
  if (!existsSync(join(srcTemplate, entry))) throw new Error(`missing ${join(srcTemplate, entry)} (the entry file)`);
  for (const f of fnames)
    if (!existsSync(join(srcTemplate, f))) warnings.push(`${taskFile}: editable file ${f} is not in ${srcTemplate}`);

  const baselineMs = await readTrainTime(join(srcTemplate, 'results.json'));
  const nextDir = join(refRoot, 'workspace_templates', GROUP, `record_${record + 1}`);
  if (!existsSync(nextDir))
    throw new Error(`missing record ${record + 1} (${nextDir}), whose time is this task's target`);
  const targetMs = await readTrainTime(join(nextDir, 'results.json'));

  let excluded = (opts.excludedRecords ?? [6]).includes(record);
  if (!excluded && targetMs >= baselineMs) {
    excluded = true;
    warnings.push(
      `record ${record}: target ${targetMs} ms is not faster than baseline ${baselineMs} ms; task excluded from scores`,
    );
  }

  const files = new Map<string, Buffer>();
  const destTemplate = `workspace_templates/${GROUP}/record_${record}`;
  for (const f of await listFiles(srcTemplate)) files.set(`${destTemplate}/${f}`, await readFile(join(srcTemplate, f)));

  const hintDir = join(refRoot, KNOWLEDGE_DIR, `record_${record}`);
  const destHints = `${KNOWLEDGE_DIR}/record_${record}`;
  const hints: Record<string, string> = {};
  if (!existsSync(hintDir)) warnings.push(`record ${record}: missing hint directory ${hintDir}; task has no hints`);
  else {
    const names = await listFiles(hintDir);
    for (const { key, file } of pickHints(names, hintDir, record, warnings)) {
      const content = await readFile(join(hintDir, file));
      if (content.toString('utf8').trim() === '') warnings.push(`${join(hintDir, file)}: hint file is empty`);
      hints[key] = `${destHints}/${file}`;
    }
    // Every file is copied, not only the picked ones, so any reference glob (`level_3_*.txt`) matches what it matched there.
    for (const name of names) files.set(`${destHints}/${name}`, await readFile(join(hintDir, name)));
  }

  const description =
    stringField(cfg, 'task_description', taskFile, warnings) ??
    `Improve ${entry} so that it reaches val_loss <= ${TARGET_VAL_LOSS} in the shortest train_time possible.`;
  const codeInstructions = stringField(cfg, 'code_instructions', taskFile, warnings);
  const preamble = stringField(cfg, 'preamble', taskFile, warnings);
  if (taskField(cfg, 'task_description_file').value) {
    warnings.push(
      `${taskFile}: ${taskField(cfg, 'task_description_file').name} is not imported (a path on the authors' machines); the task_description is used`,
    );
  }

  const workspace = isObj(cfg.workspace_args) ? cfg.workspace_args : {};
  const packages = Array.isArray(workspace.packages)
    ? workspace.packages.filter((p): p is string => typeof p === 'string' && p.trim() !== '')
    : [];

  const slurm = isObj(cfg.slurm_config_args) ? cfg.slurm_config_args : {};
  const ttlMinutes = positiveNumber(slurm.job_ttl);
  const gpus = (positiveNumber(slurm.nodes) ?? 1) * (positiveNumber(slurm.gpus_per_node) ?? 8);
  if (gpus !== 8)
    warnings.push(`${taskFile}: slurm_config_args asks for ${gpus} GPUs; the speedrun tasks are timed on 8`);
  // NANOGPT_* data paths point at the authors' disks; the GPU worker sets them from our data config.
  const torchrun = slurm.use_torchrun !== false;
  // The reference's torchrun job function sets this allocator option for every speedrun execution.
  const env: Record<string, string> = torchrun ? { PYTORCH_CUDA_ALLOC_CONF: 'expandable_segments:True' } : {};
  if (isObj(slurm.env_vars)) {
    for (const [k, v] of Object.entries(slurm.env_vars)) {
      if (k.startsWith('NANOGPT_')) continue;
      const { text, unresolved } = interpolate(String(v), cfg);
      if (unresolved.length)
        warnings.push(`${taskFile}: slurm_config_args.env_vars.${k} uses ${unresolved.join(', ')}; ignored`);
      else env[k] = text;
    }
  }

  // Bounds and selection, with the eval command's when the task has one (the reference selects on
  // eval_selection_metric when set, and checks eval bounds like the training ones).
  const metricsAtMost = {
    ...numberMap(cfg, 'metrics_at_most', taskFile, warnings),
    ...numberMap(cfg, 'eval_metrics_at_most', taskFile, warnings),
  };
  const metricsAtLeast = {
    ...numberMap(cfg, 'metrics_at_least', taskFile, warnings),
    ...numberMap(cfg, 'eval_metrics_at_least', taskFile, warnings),
  };
  for (const metric of Object.keys(metricTypes(cfg, 'metric_types', taskFile, warnings))) {
    if (!(metric in SPEEDRUN_METRICS))
      warnings.push(`${taskFile}: metric ${metric} is not printed on the speedrun's validation lines; not read`);
  }
  const evalFname = stringField(cfg, 'eval_fname', taskFile, warnings);
  const evalSelection = stringField(cfg, 'eval_selection_metric', taskFile, warnings);
  const selection = evalSelection ?? stringField(cfg, 'selection_metric', taskFile, warnings) ?? 'train_time';
  const lowerField = taskField(cfg, evalSelection ? 'eval_lower_is_better' : 'lower_is_better').value;
  const lowerIsBetter = typeof lowerField === 'boolean' ? lowerField : true;
  const privateField = taskField(cfg, 'eval_metrics_private').value;
  const privateMetrics = Array.isArray(privateField)
    ? privateField.filter((m): m is string => typeof m === 'string')
    : [];

  const task: TaskInput = {
    id,
    description,
    workspace_template: `${GROUP}/record_${record}`,
    fnames,
    entry_fname: entry,
    launcher: torchrun ? 'torchrun' : 'python',
    args: [],
    gpus_per_execution: 8,
    timeout_s: opts.timeoutS ?? (ttlMinutes ? ttlMinutes * 60 : DEFAULT_TIMEOUT_S),
    // Data paths come from the data config: the GPU worker sets NANOGPT_TRAIN_FILES/VAL_FILES/VAL_TOKENS.
    env,
    metric_parser: 'speedrun',
    metric_types: { ...SPEEDRUN_METRICS },
    selection_metric: selection,
    lower_is_better: lowerIsBetter,
    metrics_at_most: Object.keys(metricsAtMost).length ? metricsAtMost : { val_loss: TARGET_VAL_LOSS },
    ...(Object.keys(metricsAtLeast).length ? { metrics_at_least: metricsAtLeast } : {}),
    records: { metric: 'train_time', baseline: baselineMs, target: targetMs, excluded_from_scores: excluded },
    hints,
    packages,
    ...(codeInstructions ? { code_instructions: codeInstructions } : {}),
    ...(preamble ? { preamble } : {}),
    ...(evalFname
      ? {
          eval: {
            args: ['python', evalFname],
            metric_types: metricTypes(cfg, 'eval_metric_types', taskFile, warnings),
          },
        }
      : {}),
    ...(privateMetrics.length ? { private_metrics: privateMetrics } : {}),
  };
  const checked = taskSchema.safeParse(task);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`task ${id} from ${taskFile} is not a valid task config: ${issues}`);
  }
  const header =
    `# Imported from llm-speedrunner: starts from record ${record}, target is record ${record + 1}.\n` +
    `# Source: ${relative(refRoot, taskFile).split(sep).join('/')}. Re-importing overwrites this file.\n`;
  files.set(
    `config/task/${GROUP}/speedrun_record_${record}.yaml`,
    Buffer.from(header + YAML.stringify(task, { lineWidth: 0 })),
  );

  // data/hints/… is where imports before the reference layout put the hints: emptied on re-import.
  return {
    id,
    record,
    baselineMs,
    targetMs,
    excluded,
    files,
    ownedDirs: [destTemplate, destHints, `data/hints/${GROUP}/record_${record}`],
    warnings,
  };
}

/** Writes only files whose bytes differ; each file's status. */
async function writeChanged(
  destRoot: string,
  planned: Map<string, Buffer>,
): Promise<{ path: string; status: FileStatus }[]> {
  const files: { path: string; status: FileStatus }[] = [];
  for (const [rel, content] of [...planned.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const full = join(destRoot, rel);
    const old = await readFile(full).catch(() => undefined);
    const status: FileStatus = old === undefined ? 'created' : old.equals(content) ? 'unchanged' : 'updated';
    if (status !== 'unchanged') {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content);
    }
    files.push({ path: rel, status });
  }
  return files;
}

/** Writes a plan: only files whose bytes differ, then removes what the owned dirs should not hold. */
async function applyPlan(destRoot: string, plan: Plan): Promise<ImportedTask> {
  const files = await writeChanged(destRoot, plan.files);
  for (const dir of plan.ownedDirs) {
    for (const f of await listFiles(join(destRoot, dir))) {
      const rel = `${dir}/${f}`;
      if (plan.files.has(rel)) continue;
      await rm(join(destRoot, rel));
      files.push({ path: rel, status: 'removed' });
    }
  }
  const yamlStatus = files.find((f) => f.path.startsWith('config/task/'))?.status;
  const status: TaskStatus =
    yamlStatus === 'created' ? 'created' : files.every((f) => f.status === 'unchanged') ? 'unchanged' : 'updated';
  return {
    id: plan.id,
    record: plan.record,
    status,
    baselineMs: plan.baselineMs,
    targetMs: plan.targetMs,
    excludedFromScores: plan.excluded,
    files,
    warnings: plan.warnings,
  };
}

/**
 * Imports every speedrun task of the checkout at refRoot into destRoot. A task that cannot be
 * built (missing code, results.json or next record) is reported in `failed` and nothing of it
 * is written; the others are still imported. Throws when refRoot is not such a checkout.
 */
export async function importReferenceTasks(
  refRoot: string,
  destRoot: string,
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  const taskDir = join(refRoot, 'config', 'task', GROUP);
  if (!existsSync(taskDir))
    throw new Error(`${refRoot} does not look like an llm-speedrunner checkout: missing ${taskDir}`);
  const found = (await readdir(taskDir))
    .map((name) => ({ name, m: TASK_FILE.exec(name) }))
    .filter((e): e is { name: string; m: RegExpExecArray } => e.m !== null)
    .map((e) => ({ record: Number(e.m[1]), file: join(taskDir, e.name) }))
    .filter((e) => !opts.records || opts.records.includes(e.record))
    .sort((a, b) => a.record - b.record);
  if (found.length === 0) {
    const which = opts.records ? ` for records ${opts.records.join(', ')}` : '';
    throw new Error(`no speedrun_record_R.yaml task configs${which} in ${taskDir}`);
  }
  for (const r of opts.records ?? []) {
    if (!found.some((e) => e.record === r)) throw new Error(`missing ${join(taskDir, `speedrun_record_${r}.yaml`)}`);
  }

  const summary: ImportSummary = {
    refRoot,
    destRoot,
    tasks: [],
    failed: [],
    warnings: [],
    counts: { created: 0, unchanged: 0, updated: 0, failed: 0 },
    shared: [],
  };
  const rootCfg = await loadRootConfig(refRoot, summary.warnings);
  const knowledgeRoot = join(refRoot, KNOWLEDGE_DIR);
  const shared = new Map<string, Buffer>();
  if (existsSync(knowledgeRoot)) {
    for (const name of (await readdir(knowledgeRoot)).sort()) {
      const full = join(knowledgeRoot, name);
      if (SHARED_KNOWLEDGE.test(name) && (await stat(full)).isFile())
        shared.set(`${KNOWLEDGE_DIR}/${name}`, await readFile(full));
    }
  }
  summary.shared = await writeChanged(destRoot, shared);
  for (const { record, file } of found) {
    const id = `${GROUP}/speedrun_record_${record}`;
    let plan: Plan;
    try {
      plan = await planTask(refRoot, record, file, rootCfg, opts);
    } catch (err) {
      summary.failed.push({ id, record, error: (err as Error).message });
      summary.counts.failed++;
      continue;
    }
    const done = await applyPlan(destRoot, plan);
    summary.tasks.push(done);
    summary.warnings.push(...done.warnings);
    summary.counts[done.status]++;
  }
  return summary;
}
