// Shapes shared by workflows and activities. Plain data only: workflow code imports this file.
import type { TokenUsage } from './usage';

/** A broken integrity rule: its name (e.g. `clock.burst`) and what the harness saw. */
export interface Violation {
  rule: string;
  detail: string;
}

/** `crossover`: a child of two parents (`parents`), written on the first one's code. */
export type Stage = 'root' | 'draft' | 'debug' | 'improve' | 'crossover';
export type NodeStatus = 'pending' | 'ok' | 'buggy' | 'timeout' | 'crashed';

/** One version in the search tree. Code, plans and logs are store hashes; the rest is small. */
export interface NodeRecord {
  /** Also the version number: node 7 is `v_7`. */
  id: number;
  parent: number | null;
  /** A crossover's two parents, `parent` first (its code is what the child's edits apply to). */
  parents?: number[];
  stage: Stage;
  iteration: number;
  /** The plan, cut to a few hundred characters; the whole text is at `planRef`. */
  plan: string;
  planRef?: string;
  snapshot?: string;
  status: NodeStatus;
  valid: boolean;
  reason?: string;
  /** Warnings for review (e.g. the diff touches timing or validation code). They exclude nothing. */
  flags?: string[];
  /** Named integrity rules the version broke (src/integrity/rules.ts): it is never best and never scored. */
  violations?: Violation[];
  metrics: Record<string, number>;
  /** The task's `private_metrics`: kept apart so no prompt can show them to the agent. */
  private_metrics?: Record<string, number>;
  /** A short LLM summary of the outcome, shown in later prompts. */
  summary?: string;
  /** The coder's note when the version was made from only part of the edits it asked for. */
  notes?: string;
  logRef?: string;
  /** Log of the task's separate `eval` command, if it has one. */
  evalLogRef?: string;
  /** Earlier measurements of this same version, oldest first, kept when `retry-node` measured it again. */
  previous?: {
    status: NodeStatus;
    valid: boolean;
    reason?: string;
    metrics: Record<string, number>;
    logRef?: string;
    finished_at?: string;
  }[];
  timings: {
    started_at: string;
    finished_at?: string;
    llm_ms: number;
    exec_ms: number;
    harness_wall_ms?: number;
    /** The measurement was reused: this exact execution had run before (e.g. before a reset). */
    exec_cached?: boolean;
  };
  usage: TokenUsage;
}

export type Phase = 'starting' | 'ideating' | 'coding' | 'executing' | 'analyzing' | 'recording' | 'paused' | 'done';

/** What `status` shows and `tree` draws; also kept in the store so it outlives the workers. */
export interface RunView {
  runId: string;
  task: string;
  model: string;
  science_runner: string;
  phase: Phase;
  iteration: number;
  n_iterations: number;
  paused?: boolean;
  /** Why the run ended before its iterations were done (an operator's `stop`). */
  stopped?: string;
  /** The run and node a forked run started from. */
  forked_from?: { runId: string; nodeId: number };
  /** Hash of the run's resolved RunConfig in the store (what `score` reads hint level, scaffold and model from). */
  configRef?: string;
  selection_metric: string;
  lower_is_better: boolean;
  best?: { id: number; metric: number; speedup?: number; workspace: string };
  /** Fraction of the human speed-up recovered, for tasks with `records`. */
  fsr?: number;
  usage: TokenUsage;
  /** GPU-seconds used by executions (devices × wall time; cached measurements cost none). */
  gpu_seconds?: number;
  nodes: NodeRecord[];
  updated_at: string;
}
