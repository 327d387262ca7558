import { z } from 'zod';

/**
 * A task: what the agent edits, how a version is executed and how its metrics are read.
 * One YAML file per task under `config/task/<id>.yaml` (ids may contain `/`, e.g.
 * `nanogpt_speedrun/speedrun_record_3`). Paths are relative to the task's root: the repository
 * for built-in tasks, `<home>/imported` for tasks brought in by `speedrunner tasks import`.
 */
export const metricTypeSchema = z.enum(['float', 'int']);

/** Output cap of an execution by default (MiB): far above any honest training log. */
export const DEFAULT_MAX_OUTPUT_MB = 64;

export const taskSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9_][a-z0-9_./-]*$/, 'lower-case letters, digits, _ . / -'),
  description: z.string().min(1),
  /** Optional longer description, a file inside the workspace template. */
  description_file: z.string().optional(),
  /** Directory under `<root>/workspace_templates/` holding the starting code (version v_0). */
  workspace_template: z.string().min(1),
  /** Files the agent may edit (relative to the workspace); every other file is read-only to it. */
  fnames: z.array(z.string().min(1)).min(1),
  /** The coder may create files outside `fnames` (never over a file the version has); by default it writes only `fnames`. */
  allow_new_files: z.boolean().default(false),
  /** The file the launcher runs. */
  entry_fname: z.string().min(1),
  /** `python`: `python <entry> <args>`; `torchrun`: `torchrun --standalone --nproc_per_node=G <entry> <args>`. */
  launcher: z.enum(['python', 'torchrun']).default('python'),
  args: z.array(z.string()).default([]),
  /** Named Python environment (a venv prefix or python path); default: the worker's python. */
  environment: z.string().optional(),
  gpus_per_execution: z.number().int().min(0).default(0),
  /** Wall-clock limit of one execution; the whole process group is killed past it. */
  timeout_s: z.number().positive(),
  /** Output cap of one execution (MiB): past it the execution is stopped and crashed, head and tail of the log kept. */
  max_output_mb: z.number().positive().default(DEFAULT_MAX_OUTPUT_MB),
  /** Extra, non-secret environment variables for the execution. */
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  /** How metrics are read from the log: `speedrun` validation lines, or named regexes (one capture group). */
  metric_parser: z.enum(['regex', 'speedrun']).default('regex'),
  metric_patterns: z.record(z.string(), z.string()).default({}),
  metric_types: z.record(z.string(), metricTypeSchema).default({}),
  /** Which matching line wins when a pattern matches several times. */
  metric_extract: z.enum(['last', 'best']).default('last'),
  /** The metric the search optimises; `harness_wall_ms` is measured by the harness itself. */
  selection_metric: z.string().min(1),
  lower_is_better: z.boolean().default(true),
  /** A version whose metric breaks one of these bounds is invalid (and so buggy). */
  metrics_at_most: z.record(z.string(), z.number()).default({}),
  metrics_at_least: z.record(z.string(), z.number()).default({}),
  /** Human records for FSR: baseline = this task's starting time, target = the next record's. */
  records: z
    .strictObject({
      metric: z.string().min(1),
      baseline: z.number().positive(),
      target: z.number().positive(),
      excluded_from_scores: z.boolean().default(false),
    })
    .optional(),
  /** Hint files by level (`1` pseudocode, `2` text, `3` mini-paper, `diff`, …), relative to the root. */
  hints: z.record(z.string(), z.string()).default({}),
  code_instructions: z.string().optional(),
  preamble: z.string().optional(),
  /** Python packages the task's environment has; named in the coder prompt, which forbids installing others. */
  packages: z.array(z.string().min(1)).default([]),
  /**
   * An optional second command run after a successful execution, in the same scratch dir (so it can
   * read what training wrote), with its own metrics. Its log is kept apart from the training log.
   */
  eval: z
    .strictObject({
      /** argv, run with the task's python when the first word is `python`. */
      args: z.array(z.string()).min(1),
      timeout_s: z.number().positive().default(600),
      metric_patterns: z.record(z.string(), z.string()).default({}),
      metric_types: z.record(z.string(), metricTypeSchema).default({}),
    })
    .optional(),
  /** Metrics never shown to the agent (in any prompt); they still count for validity and reports. */
  private_metrics: z.array(z.string()).default([]),
});

export type TaskConfig = z.infer<typeof taskSchema>;
export type TaskInput = z.input<typeof taskSchema>;

/** The metric every execution gets from the harness, whatever the script prints. */
export const HARNESS_WALL_METRIC = 'harness_wall_ms';
