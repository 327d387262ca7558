/**
 * The reference harness's spellings (facebookresearch/llm-speedrunner's Hydra keys and group names,
 * and the paper's launcher labels) as aliases of ours. `speedrunner run` and `config show` accept
 * them: each is rewritten to our key and value, ignored (when it has no effect here) or refused, and
 * a note says which. docs/reference-keys.md is the table of all of them; a test reads that table.
 */
/** What a reference key becomes: our key (with its value converted), nothing (with why), or an error (with why). */
export type KeyRule = { to: string; convert?: (value: unknown) => unknown } | { ignore: string } | { refuse: string };

const same = (key: string): KeyRule => ({ to: key });
const minutesToSeconds = (v: unknown) => (typeof v === 'number' ? v * 60 : v);

const EDIT_FORMATS: Record<string, string> = {
  diff: 'search_replace',
  'diff-fenced': 'search_replace',
  whole: 'whole_file',
};

/** Reference group values → ours. Where ours has the same name, no entry. */
export const VALUE_ALIASES: Record<string, Record<string, string>> = {
  // The paper's launcher calls multi-AIDE `multi-aide`; our preset files cannot hold a `-` name and `_` twice.
  science_runner: { 'multi-aide': 'multi_aide' },
  model: {
    o3_mini: 'o3-mini',
    deepseek_r1: 'deepseek-r1',
    gemini_2_5: 'gemini-2.5-pro',
    gpt_4o: 'gpt-4o',
    o1_preview: 'o1-preview',
    claude_3_5_sonnet: 'claude-3-5-sonnet',
    claude_3_7_sonnet: 'claude-3-7-sonnet',
    claude_4_sonnet: 'claude-sonnet-4',
    r1_32b: 'r1-distill-qwen-32b',
  },
  // The reference's `base` coder asks for the whole code back.
  coder: { base: 'whole_file' },
  // The paper's launcher labels knowledge levels by the glob digit: z (none), 1, 2, 5 (the mini-paper,
  // now level_3_paper.txt), [12], [125]; its second launcher writes 3 and [123].
  hint_level: {
    z: '0',
    '5': '3',
    '12': '1+2',
    '125': '1+2+3',
    '123': '1+2+3',
    '[12]': '1+2',
    '[125]': '1+2+3',
    '[123]': '1+2+3',
    '[1]': '1',
    '[2]': '2',
    '[3]': '3',
    '[5]': '3',
  },
};

const WIRING =
  'Hydra object wiring (`_target_` classes and `${…}` references); ours picks its parts by the names science_runner, coder and ideator';
const THEIR_CLUSTER =
  "a setting of the authors' slurm cluster; executions here go to GPU workers (docs/scaling-out.md)";

/**
 * Reference keys (dotted, as on the reference's command line) → rule. A key ending in `.*` covers every
 * key under it that has no entry of its own.
 */
export const KEY_RULES: Record<string, KeyRule> = {
  // ── top level (config/default.yaml)
  n_iterations: same('n_iterations'),
  knowledge_src_paths: same('knowledge_src_paths'),
  task: same('task'),
  model: same('model'),
  science_runner: same('science_runner'),
  ideator: same('ideator'),
  coder: same('coder'),
  model_name: { to: 'model.model' },
  model_url: { to: 'model.base_url' },
  template_dirname: { to: 'task.workspace_template' },
  node_id: { refuse: "the host name of the authors' vLLM server for r1_32b; set model.base_url instead" },
  log_llm_metrics: {
    ignore: "every LLM call's tokens, cost and time are always recorded (speedrunner status, the report)",
  },
  system_prompt: { refuse: 'role prompts are files, data/prompts/<role>.md, versioned with the code; edit those' },
  secrets: {
    refuse: 'keys are never in config: each model names the environment variable holding its key (model.api_key_env)',
  },
  'secrets.*': {
    refuse: 'keys are never in config: each model names the environment variable holding its key (model.api_key_env)',
  },
  abs_read_only_fnames: { refuse: 'every workspace file that is not in task.fnames is already read-only to the agent' },
  'hydra.*': {
    refuse: "Hydra's own logging and output-directory settings; runs are stored in the artifact store (store=)",
  },
  'assistant_args.*': { refuse: `${WIRING}; the summarizer and metric reader use the run's model` },
  'ideator_args.*': { refuse: `${WIRING}; the ideator uses the run's model (ideator=base|dummy)` },
  // ── workspace_args
  'workspace_args.root_path': { to: 'workspace_dir' },
  'workspace_args.packages': { to: 'task.packages' },
  'workspace_args.ignore_list': {
    ignore:
      'versions are content-addressed snapshots of task.fnames and the template; logs and metadata are kept apart from code',
  },
  'workspace_args.template_dir': {
    refuse: "the starting code is the task's workspace_template (task.workspace_template), relative to the task's root",
  },
  'workspace_args._target_': { refuse: WIRING },
  // ── slurm_config_args (the execution's resources)
  'slurm_config_args.job_ttl': { to: 'task.timeout_s', convert: minutesToSeconds },
  'slurm_config_args.env_vars': { to: 'task.env' },
  'slurm_config_args.gpus_per_node': { to: 'task.gpus_per_execution' },
  'slurm_config_args.use_torchrun': {
    to: 'task.launcher',
    convert: (v) => (v === true ? 'torchrun' : v === false ? 'python' : v),
  },
  'slurm_config_args.use_local_runs': { ignore: 'every execution already runs locally on a GPU worker' },
  'slurm_config_args.*': { ignore: THEIR_CLUSTER },
  'slurm_config_args._target_': { refuse: WIRING },
  // ── science_runner_args (config/science_runner/*.yaml)
  'science_runner_args.n_initial_hypotheses': same('science_runner.n_initial_hypotheses'),
  'science_runner_args.n_hypotheses': same('science_runner.n_hypotheses'),
  'science_runner_args.debug_prob': same('science_runner.debug_prob'),
  'science_runner_args.max_bug_depth': same('science_runner.max_bug_depth'),
  'science_runner_args.max_n_nodes': same('science_runner.max_n_nodes'),
  'science_runner_args.max_log_len': same('max_log_len'),
  'science_runner_args.knowledge_src_paths': same('knowledge_src_paths'),
  'science_runner_args.knowledge_pass_to_coder': same('knowledge_pass_to_coder'),
  'science_runner_args.max_retries': {
    ignore:
      "the reference re-asks the ideator and the analysis calls up to this many times for a malformed reply; ours reply in plain text, and edit retries are max_retries (aider's coder_args.max_reflections)",
  },
  'science_runner_args.eval_slurm_config': { ignore: THEIR_CLUSTER },
  'science_runner_args.*': { refuse: WIRING },
  // ── coder_args (config/coder/aider.yaml)
  'coder_args.edit_format': { to: 'coder', convert: (v) => (typeof v === 'string' && EDIT_FORMATS[v]) || v },
  'coder_args.max_reflections': same('max_retries'),
  'coder_args.use_temperature': { to: 'model.temperature' },
  'coder_args.strict_diff_format': { ignore: 'the search_replace coder prompt always carries the strict-diff note' },
  'coder_args.stream': { ignore: 'replies are read whole; streaming would change nothing that is sent or kept' },
  'coder_args.detect_urls': { ignore: 'the coder never fetches URLs it finds in a prompt' },
  'coder_args.abs_read_only_fnames': {
    refuse: 'every workspace file that is not in task.fnames is already read-only to the agent',
  },
  'coder_args.*': { refuse: `${WIRING}; the coder uses the run's model` },
  // ── exp_config_args (the task's fields, config/task/*.yaml)
  'exp_config_args.task_description': { to: 'task.description' },
  'exp_config_args.task_description_file': { to: 'task.description_file' },
  'exp_config_args.code_instructions': same('task.code_instructions'),
  'exp_config_args.preamble': same('task.preamble'),
  'exp_config_args.entry_fname': same('task.entry_fname'),
  'exp_config_args.fnames': same('task.fnames'),
  'exp_config_args.metric_types': same('task.metric_types'),
  'exp_config_args.metrics_at_most': same('task.metrics_at_most'),
  'exp_config_args.metrics_at_least': same('task.metrics_at_least'),
  'exp_config_args.selection_metric': same('task.selection_metric'),
  'exp_config_args.lower_is_better': same('task.lower_is_better'),
  'exp_config_args.eval_fname': { to: 'task.eval.args', convert: (v) => (typeof v === 'string' ? ['python', v] : v) },
  'exp_config_args.eval_metric_types': { to: 'task.eval.metric_types' },
  'exp_config_args.eval_metrics_private': { to: 'task.private_metrics' },
  'exp_config_args.max_retries': {
    ignore: "not read by the reference's runner either (it uses science_runner_args.max_retries)",
  },
  'exp_config_args.eval_selection_metric': {
    refuse: 'set task.selection_metric to the eval metric (tasks import does this when a task has one)',
  },
  'exp_config_args.eval_lower_is_better': {
    refuse: 'set task.lower_is_better (tasks import does this when a task has an eval selection metric)',
  },
  'exp_config_args.eval_metrics_at_most': {
    refuse: 'bounds on eval metrics go in task.metrics_at_most with the others (tasks import merges them)',
  },
  'exp_config_args.eval_metrics_at_least': {
    refuse: 'bounds on eval metrics go in task.metrics_at_least with the others (tasks import merges them)',
  },
  'exp_config_args.*': { refuse: WIRING },
};

/** The rule of a dotted reference key: its own entry, else the nearest `prefix.*` entry. */
export function ruleFor(key: string): KeyRule | undefined {
  if (KEY_RULES[key]) return KEY_RULES[key];
  const parts = key.split('.');
  for (let i = parts.length - 1; i >= 1; i--) {
    const rule = KEY_RULES[`${parts.slice(0, i).join('.')}.*`];
    if (rule) return rule;
  }
  return undefined;
}

/** A value alias for one of our keys (`model=o3_mini`, `hint_level=125`), or undefined. */
export function valueAlias(key: string, value: unknown): string | undefined {
  const table = VALUE_ALIASES[key];
  if (!table) return undefined;
  const raw = Array.isArray(value) ? `[${value.join('')}]` : String(value);
  return Object.hasOwn(table, raw) ? table[raw] : undefined;
}

export interface Translated {
  /** [path, value] pairs in our keys, in the order given; ignored keys are left out. */
  parsed: [string[], unknown][];
  /** One line per alias used: what it became, or why it has no effect. */
  notes: string[];
  /** A reference key that is refused, with why (the resolver turns it into a ConfigError). */
  refused?: string;
}

/**
 * Rewrites parsed overrides from reference spellings to ours. Our own keys pass through (only their
 * values may be aliases); a key whose first part is not one of `ourTopKeys` is looked up as a
 * reference key. The first refused key stops the translation, with the reason.
 */
export function translateReferenceKeys(parsed: [string[], unknown][], ourTopKeys: string[]): Translated {
  const out: [string[], unknown][] = [];
  const notes: string[] = [];
  for (const [path, value] of parsed) {
    const key = path.join('.');
    let target = path;
    let converted = value;
    if (!ourTopKeys.includes(path[0])) {
      const rule = ruleFor(key);
      if (!rule) {
        out.push([path, value]); // not a reference key either: the resolver says what is valid
        continue;
      }
      if ('refuse' in rule)
        return { parsed: out, notes, refused: `'${key}' (a reference harness key) is not supported: ${rule.refuse}` };
      if ('ignore' in rule) {
        notes.push(`${key} (reference key) ignored: ${rule.ignore}`);
        continue;
      }
      target = rule.to.split('.');
      converted = rule.convert ? rule.convert(value) : value;
      notes.push(`${key} (reference key) → ${rule.to}${converted !== value ? ` = ${JSON.stringify(converted)}` : ''}`);
    }
    const alias = target.length === 1 ? valueAlias(target[0], converted) : undefined;
    if (alias !== undefined) {
      notes.push(
        `${target[0]}=${Array.isArray(converted) ? `[${converted.join(',')}]` : String(converted)} (reference name) → ${target[0]}=${alias}`,
      );
      converted = alias;
    }
    out.push([target, converted]);
  }
  return { parsed: out, notes };
}
