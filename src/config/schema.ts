import { z } from 'zod';
import { taskSchema } from './task';

export const modelSchema = z.strictObject({
  id: z.string().min(1),
  /** `scripted` replays replies from a script file through our own OpenAI-protocol server. */
  provider: z.enum(['openai', 'anthropic', 'scripted']),
  model: z.string().min(1),
  /** An OpenAI-compatible server (vLLM, Ollama…) or a test server; default: the provider's. */
  base_url: z.string().url().optional(),
  /** Name of the environment variable holding the key (the key itself never enters config or history). */
  api_key_env: z.string().optional(),
  /** Script of replies for `scripted` (relative to the repository). */
  script: z.string().optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().default(4096),
  /** Tokens the model accepts, prompt and reply together; a prompt that would not fit is cut (src/llm/context-fit.ts). */
  context_window: z.number().int().positive().optional(),
  /** Reasoning effort: OpenAI `reasoning_effort`; Anthropic `output_config.effort` (low…max, adaptive-thinking models). */
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']).optional(),
  /** Anthropic manual extended thinking, `thinking: {type: 'enabled', budget_tokens}` (models before Claude 5); below max_tokens. */
  thinking_budget: z.number().int().min(1024).optional(),
  /** Seconds one HTTP request may take before it counts as sent-but-unanswered (default: the SDK's 10 minutes). */
  request_timeout_s: z.number().positive().optional(),
  /** USD per million tokens, for cost accounting. */
  prices: z
    .strictObject({
      input: z.number().min(0).default(0),
      output: z.number().min(0).default(0),
      cached_input: z.number().min(0).optional(),
    })
    .default({ input: 0, output: 0 }),
});
export type ModelConfig = z.infer<typeof modelSchema>;

/** The search policy's knobs, under the reference harness's names. */
export const scienceRunnerSchema = z.strictObject({
  id: z.string().min(1),
  n_initial_hypotheses: z.number().int().min(1).default(1),
  n_hypotheses: z.number().int().min(1).default(1),
  debug_prob: z.number().min(0).max(1).default(0),
  max_bug_depth: z.number().int().min(0).default(3),
  /** Stop once this many nodes exist (root not counted). */
  max_n_nodes: z.number().int().min(1).default(20),
  /**
   * Where the next parent is chosen among: `local` (the reference's: the root, the current parent and
   * this iteration's children) or `global` (the best valid node of the whole tree).
   */
  selection_scope: z.enum(['local', 'global']).default('local'),
  /** The scaffold's number of iterations (the paper's: flat 1, the others 20); a top-level n_iterations override wins. */
  n_iterations: z.number().int().min(1).optional(),
  /**
   * The search policy (core/policies/): left out, the reference runner's loop (core/policy.ts
   * planIteration); `mcts`, `evolutionary` or `puct` plan each iteration themselves, with the knobs below.
   */
  policy: z.enum(['mcts', 'evolutionary', 'puct']).optional(),
  /** MCTS: the UCT exploration constant. */
  uct_c: z.number().min(0).optional(),
  /** Evolutionary: chance that an individual is a crossover of two parents rather than an improvement of one. */
  crossover_prob: z.number().min(0).max(1).optional(),
  /** Evolutionary: generations (after the drafts) before crossover is tried. */
  num_generations_till_crossover: z.number().int().min(0).optional(),
  /** Evolutionary: temperature of the fitness-proportional (Boltzmann) parent selection. */
  selection_temperature: z.number().positive().optional(),
  /** PUCT: the exploration coefficient. */
  puct_c: z.number().min(0).optional(),
});
export type ScienceRunnerConfig = z.infer<typeof scienceRunnerSchema>;

export const hintLevels = ['0', '1', '2', '3', '1+2', '1+2+3', 'diff'] as const;

export const runConfigSchema = z.strictObject({
  task: taskSchema,
  model: modelSchema,
  science_runner: scienceRunnerSchema,
  n_iterations: z.number().int().min(1),
  seed: z.number().int().min(0).default(0),
  hint_level: z.enum(hintLevels).default('0'),
  /** Extra knowledge files (globs, relative to the task root) shown to the agent. */
  knowledge_src_paths: z.array(z.string()).default([]),
  /** Show the knowledge to the coder too, not only to the ideator (the reference's `knowledge_pass_to_coder`). */
  knowledge_pass_to_coder: z.boolean().default(false),
  /** `base` asks the model for a hypothesis; `dummy` passes the hint through as the idea (reproduction runs). */
  ideator: z.enum(['base', 'dummy']).default('base'),
  /**
   * `search_replace`: Aider-style SEARCH/REPLACE blocks; `whole_file`: whole files back; `aider`: the
   * real `aider` CLI on the materialized version (when installed); `agent`: a tool-using loop.
   */
  coder: z.enum(['search_replace', 'whole_file', 'aider', 'agent']).default('search_replace'),
  /** Bounds of the agentic coder (`coder=agent`). */
  agent: z
    .strictObject({
      max_steps: z.number().int().min(1).default(12),
      max_tokens: z.number().int().min(1000).default(200_000),
    })
    .default({ max_steps: 12, max_tokens: 200_000 }),
  /** Analysis: ask the LLM for metrics the patterns missed, and for a short outcome summary per node. */
  analysis: z
    .strictObject({
      llm_metric_fallback: z.boolean().default(true),
      llm_summary: z.boolean().default(true),
    })
    .default({ llm_metric_fallback: true, llm_summary: true }),
  /**
   * Code the next hypotheses while executions are in flight, keeping up to `max_outstanding_executions`
   * executions queued or running (see README: a child may be chosen before its siblings are measured).
   */
  pipeline: z.boolean().default(false),
  max_outstanding_executions: z.number().int().min(1).default(2),
  /** Per-run limits; reaching one ends the run cleanly with the reason recorded. */
  budget: z
    .strictObject({
      usd: z.number().positive().optional(),
      gpu_seconds: z.number().positive().optional(),
      wall_clock_s: z.number().positive().optional(),
    })
    .default({}),
  /** Edit attempts per version before it is recorded as buggy. */
  max_retries: z.number().int().min(0).default(2),
  /** Log characters (from the end) shown to the agent (the reference's 30 000). */
  max_log_len: z.number().int().positive().default(30_000),
  /** Execute the starting code too, so the human baseline is measured like every version. */
  execute_root: z.boolean().default(true),
  /** Artifact store path; workspaces `v_<n>/` for people to read go under `workspace_dir/<runId>/`. */
  store: z.string().min(1),
  workspace_dir: z.string().min(1),
  /** Continue-as-new every this many iterations (and when Temporal suggests it). */
  continue_as_new_every: z.number().int().min(1).default(50),
  timeouts: z
    .strictObject({
      llm_call_s: z.number().positive().default(600),
      llm_heartbeat_s: z.number().positive().default(30),
      execution_heartbeat_s: z.number().positive().default(60),
    })
    .default({ llm_call_s: 600, llm_heartbeat_s: 30, execution_heartbeat_s: 60 }),
  /** Training data for speedrun tasks: glob patterns handed to executions as NANOGPT_* variables. */
  data: z
    .strictObject({
      train_files: z.string().optional(),
      val_files: z.string().optional(),
      val_tokens: z.number().int().positive().default(10_485_760),
    })
    .default({ val_tokens: 10_485_760 }),
  sweep_id: z.string().optional(),
  /** Control task queue of the run; executions go to `<task_queue>-gpu` (default from SPEEDRUNNER_TASK_QUEUE). */
  task_queue: z.string().min(1).default('speedrunner'),
  /** Where the task's template and hint paths are relative to (set by the resolver). */
  task_root: z.string().min(1),
});
export type RunConfig = z.infer<typeof runConfigSchema>;
