// One run's FSR with the configuration it ran under, read from the run's stored config.
import { ConfigError } from '../config/load';
import type { RunConfig } from '../config/schema';
import type { TaskConfig } from '../config/task';
import type { RunView } from '../../core/types';
import { OFFLINE_VALIDITY, treeFsr, versionsWithMetrics, type ValidityRule } from '../../core/fsr';
import type { ScoreRow } from './aggregate';

/** Which versions count: the in-run rule (`ok`, no violation, val_loss within `target`) or the notebooks' offline rule. */
export interface ScoreRule extends Required<ValidityRule> {
  /** `val_loss < 3.29` on every agent version that has metrics, whatever its status, flags or violations. */
  offline: boolean;
}

export const offlineRule = (): ScoreRule => ({ ...OFFLINE_VALIDITY, offline: true });

/** Where a run's hint level came from: its stored config, Temporal's search attributes, or nowhere ('0' assumed). */
export type HintSource = 'config' | 'temporal' | 'assumed';

export interface RunScore {
  runId: string;
  task: string | null;
  /** The human record R the task starts from (`speedrun_record_R`), when its id names one. */
  record: number | null;
  model: string | null;
  scaffold: string | null;
  hint_level: string;
  hint_level_source: HintSource;
  /** Null when the run could not be scored (see `error`). */
  fsr: number | null;
  t_agent_ms: number | null;
  baseline_ms: number | null;
  target_ms: number | null;
  excluded: boolean;
  /** The version that set t_agent (null: none beat the baseline). */
  best_node: number | null;
  valid_versions: number;
  /** Warnings for review (e.g. the diff touches timing or validation code), as `v_<n>: <first warning>`.
   * They exclude nothing. */
  flags: string[];
  /** Versions left out because they broke a named integrity rule, as `v_<n>: <rule>: <detail>`
   * (the offline rule counts them anyway). */
  violations: string[];
  /** Why the run cannot be scored (the call is then refused, exit 2). */
  error?: string;
}

/** What is known about a run: its view, and its stored config when the view names one. */
export interface RunFacts {
  view: RunView;
  /** The run's resolved config (from `view.configRef`); older views have none. */
  config?: Pick<RunConfig, 'task' | 'model' | 'science_runner' | 'hint_level'>;
  /** For views without a config: the task as this host has it now. */
  task?: TaskConfig;
  /** For views without a config: the hint level Temporal's search attributes give. */
  temporalHintLevel?: string;
}

export const recordOf = (taskId: string): number | null => {
  const m = /speedrun_record_(\d+)$/.exec(taskId);
  return m ? Number(m[1]) : null;
};

/** The run's configuration: from its stored config when there is one, else from the view (and Temporal, or assumed). */
export function runConfiguration(f: RunFacts) {
  const c = f.config;
  const hint: { level: string; source: HintSource } = c
    ? { level: c.hint_level, source: 'config' }
    : f.temporalHintLevel
      ? { level: f.temporalHintLevel, source: 'temporal' }
      : { level: '0', source: 'assumed' };
  return {
    task: c?.task ?? f.task,
    taskId: c?.task.id ?? f.view.task,
    model: c?.model.id ?? f.view.model,
    scaffold: c?.science_runner.id ?? f.view.science_runner,
    hint,
  };
}

/**
 * One run's score. In-run rule: versions are the agent's own (the root is record R's code, timed at
 * t_R by definition), that finished (`ok`), broke no integrity rule (warnings do not count), and
 * keep val_loss within the bound. Offline rule: every agent version with metrics and val_loss < 3.29.
 * t_agent is the least train_time among them, or t_R when none beat it.
 */
export function scoreRun(f: RunFacts, rule: ScoreRule): RunScore {
  const { view } = f;
  const cfg = runConfiguration(f);
  const base: RunScore = {
    runId: view.runId,
    task: cfg.taskId,
    record: recordOf(cfg.taskId),
    model: cfg.model,
    scaffold: cfg.scaffold,
    hint_level: cfg.hint.level,
    hint_level_source: cfg.hint.source,
    fsr: null,
    t_agent_ms: null,
    baseline_ms: null,
    target_ms: null,
    excluded: false,
    best_node: null,
    valid_versions: 0,
    flags: view.nodes.filter((n) => n.stage !== 'root' && n.flags?.length).map((n) => `v_${n.id}: ${n.flags![0]}`),
    violations: view.nodes
      .filter((n) => n.violations?.length)
      .map((n) => `v_${n.id}: ${n.violations!.map((v) => `${v.rule}: ${v.detail}`).join('; ')}`),
  };
  const records = cfg.task?.records;
  if (!records)
    return {
      ...base,
      error: cfg.task
        ? `task ${cfg.taskId} has no human records`
        : `task ${cfg.taskId} is not available here and the run stored no config`,
    };
  const r = rule.offline ? treeFsr(view.nodes, records, rule, versionsWithMetrics) : treeFsr(view.nodes, records, rule);
  return {
    ...base,
    fsr: r.fsr,
    t_agent_ms: r.tAgentMs,
    baseline_ms: records.baseline,
    target_ms: records.target,
    excluded: records.excluded_from_scores,
    best_node: r.best?.id ?? null,
    valid_versions: r.validCount,
  };
}

/** The row the aggregation takes from a scored run. */
export const scoreRow = (s: RunScore): ScoreRow => ({
  record: s.task ?? '',
  fsr: s.fsr ?? NaN,
  model: s.model ?? '',
  scaffold: s.scaffold ?? '',
  hint_level: s.hint_level,
  excluded: s.excluded,
});

/** A task's family: its id up to the last `/` (`nanogpt_speedrun/speedrun_record_3` → `nanogpt_speedrun`). */
export const taskFamily = (taskId: string) =>
  taskId.includes('/') ? taskId.slice(0, taskId.lastIndexOf('/')) : taskId;

/** At most a few of many, for messages. */
const some = (items: string[], n = 5) =>
  items.length > n ? `${items.slice(0, n).join(', ')} and ${items.length - n} more` : items.join(', ');

/** Bad input the whole call is refused for (ConfigError, exit 2): runs without records, tasks of different families. */
export function checkScorable(scores: RunScore[]) {
  const unscorable = scores.filter((s) => s.error);
  if (unscorable.length)
    throw new ConfigError(`cannot score ${some(unscorable.map((s) => `${s.runId} (${s.error})`))}`);
  const families = new Map<string, string[]>();
  for (const s of scores) {
    const f = taskFamily(s.task ?? '');
    const ids = families.get(f) ?? families.set(f, []).get(f)!;
    ids.push(s.runId);
  }
  if (families.size > 1) {
    const list = [...families]
      .map(([f, ids]) => `${f} (${ids.length} run${ids.length > 1 ? 's' : ''}, e.g. ${ids[0]})`)
      .join(', ');
    throw new ConfigError(`runs of different tasks cannot be scored together: ${list}; score each family on its own`);
  }
}
