// `speedrunner score`: FSR of finished runs and the aggregates across them.
import { join } from 'node:path';
import type { Command } from 'commander';
import { table } from './render';
import { ConfigError, loadTask } from '../../src/config/load';
import type { TaskConfig } from '../../src/config/task';
import { homeDir } from '../../src/paths';
import { loadRunView } from '../../src/store/run-view-store';
import type { RunView } from '../../core/types';
import { treeFsr } from '../../core/fsr';
import { aggregateScores, type GroupScore, type ScoreRow } from '../../src/score/aggregate';
import { ArtifactStore } from '../../src/store/artifact-store';
import { connectClient, usesExternalCluster } from '../../temporal/client/connection';
import { defaultPort, isPortOpen } from '../../temporal/client/dev-server';
import { SA } from '../../core/search-attributes';

export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .argument('<runIds...>')
    .option('--json', 'machine-readable output')
    .option('--target <loss>', 'val_loss bound a version must keep to count', '3.28')
    .option('--strict', 'valid means val_loss < target (the offline analysis uses --target 3.29 --strict)')
    .description('Fraction of Speedup Recovered of finished runs, and mean / median / IQM across them')
    .action((runIds, opts) => score(runIds, opts));
}

export interface RunScore {
  runId: string;
  task: string | null;
  model: string | null;
  scaffold: string | null;
  hint_level: string;
  /** `temporal`: read from the run's search attributes; `assumed`: not found there, taken as '0'. */
  hint_level_source: 'temporal' | 'assumed';
  /** Null when the task has no human records (or the run could not be read). */
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
  /** Versions left out because they broke a named integrity rule, as `v_<n>: <rule>: <detail>`. */
  violations: string[];
  note?: string;
  error?: string;
}

function blankScore(runId: string, hint: { level: string; source: 'temporal' | 'assumed' }): RunScore {
  return {
    runId,
    task: null,
    model: null,
    scaffold: null,
    hint_level: hint.level,
    hint_level_source: hint.source,
    fsr: null,
    t_agent_ms: null,
    baseline_ms: null,
    target_ms: null,
    excluded: false,
    best_node: null,
    valid_versions: 0,
    flags: [],
    violations: [],
  };
}

/**
 * One run's score. Versions are the agent's own (the root is record R's code, timed at t_R by
 * definition), that finished (`ok`), broke no integrity rule (warnings do not count), and keep val_loss within the bound; t_agent
 * is the least train_time among them, or t_R when none beat it.
 */
export function scoreRunView(
  view: RunView,
  task: Pick<TaskConfig, 'records'> | undefined,
  rule: { target: number; strict: boolean },
  hint: { level: string; source: 'temporal' | 'assumed' },
): RunScore {
  const base: RunScore = { ...blankScore(view.runId, hint), task: view.task, model: view.model, scaffold: view.science_runner };
  const records = task?.records;
  if (!records) return { ...base, note: task ? 'the task has no human records' : 'the task is not available here' };
  const flags = view.nodes.filter((n) => n.stage !== 'root' && n.flags?.length).map((n) => `v_${n.id}: ${n.flags![0]}`);
  const violations = view.nodes.filter((n) => n.violations?.length).map((n) => `v_${n.id}: ${n.violations!.map((v) => `${v.rule}: ${v.detail}`).join('; ')}`);
  const r = treeFsr(view.nodes, records, rule);
  const best = r.best;
  return {
    ...base,
    fsr: r.fsr,
    t_agent_ms: r.tAgentMs,
    baseline_ms: records.baseline,
    target_ms: records.target,
    excluded: records.excluded_from_scores,
    best_node: best?.id ?? null,
    valid_versions: r.validCount,
    flags,
    violations,
  };
}

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref())]);

/**
 * Hint levels and store paths of runs, from Temporal (search attributes, memo): the stored view
 * has neither. Best effort and bounded in time: with no server, every run gets nothing.
 */
async function temporalFacts(runIds: string[]): Promise<Map<string, { hintLevel?: string; store?: string }>> {
  const out = new Map<string, { hintLevel?: string; store?: string }>();
  if (!usesExternalCluster() && !(await isPortOpen(defaultPort()))) return out;
  let client;
  try {
    client = await withTimeout(connectClient(), 5000);
  } catch {
    return out;
  }
  for (const id of runIds) {
    try {
      const d = await withTimeout(client.workflow.getHandle(id).describe(), 5000);
      const store = (d.memo as { store?: unknown } | undefined)?.store;
      out.set(id, { hintLevel: d.typedSearchAttributes.get(SA.HintLevel), store: typeof store === 'string' ? store : undefined });
    } catch {
      // not a workflow there (or gone past retention): the stored view still scores it
    }
  }
  await client.connection.close().catch(() => {});
  return out;
}

const fmtMs = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`);
const fmtFsr = (s: RunScore) => (s.fsr === null ? 'n/a' : `${s.fsr.toFixed(3)}${s.excluded ? ' (excluded)' : ''}`);

async function score(runIds: string[], opts: { json?: boolean; target: string; strict?: boolean }) {
  const target = Number(opts.target);
  if (!Number.isFinite(target) || target <= 0) throw new ConfigError(`--target must be a positive number, got '${opts.target}'`);
  const rule = { target, strict: Boolean(opts.strict) };
  const defaultStore = join(homeDir(), 'store');
  const facts = await temporalFacts(runIds);

  const scores: RunScore[] = [];
  for (const runId of runIds) {
    const fact = facts.get(runId) ?? {};
    const stores = [...new Set([defaultStore, ...(fact.store ? [fact.store] : [])])];
    let view: RunView | undefined;
    for (const s of stores) view ??= await loadRunView(new ArtifactStore(s), runId);
    const hint = fact.hintLevel ? { level: fact.hintLevel, source: 'temporal' as const } : { level: '0', source: 'assumed' as const };
    if (!view) {
      scores.push({ ...blankScore(runId, hint), error: `no stored view of run ${runId} in ${stores.join(' or ')}` });
      process.exitCode = 1;
      continue;
    }
    let task: TaskConfig | undefined;
    try {
      task = loadTask(view.task);
    } catch {
      task = undefined; // an imported task removed since: listed, not scored
    }
    scores.push(scoreRunView(view, task, rule, hint));
  }

  const rows: ScoreRow[] = scores
    .filter((s) => s.fsr !== null && s.task !== null)
    .map((s) => ({ record: s.task!, fsr: s.fsr!, model: s.model ?? '', scaffold: s.scaffold ?? '', hint_level: s.hint_level, excluded: s.excluded }));
  const groups: GroupScore[] = rows.length > 0 ? aggregateScores(rows) : [];

  if (opts.json) {
    console.log(JSON.stringify({ rule, runs: scores, groups }));
    return;
  }
  const head = ['run', 'task', 'model', 'scaffold', 'hint', 'valid', 't_agent', 'baseline', 'target', 'FSR'];
  const body = scores.map((s) => [
    s.runId,
    s.task ?? '-',
    s.model ?? '-',
    s.scaffold ?? '-',
    s.hint_level_source === 'assumed' ? `${s.hint_level}?` : s.hint_level,
    String(s.valid_versions),
    fmtMs(s.t_agent_ms),
    fmtMs(s.baseline_ms),
    fmtMs(s.target_ms),
    s.error ? 'error' : fmtFsr(s),
  ]);
  for (const line of table([head, ...body])) console.log(line);
  console.log(`valid: val_loss ${rule.strict ? '<' : '<='} ${target}; FSR = (t_baseline - t_agent) / (t_baseline - t_target)`);
  for (const s of scores) {
    if (s.error) console.log(`${s.runId}: ${s.error}`);
    else if (s.note) console.log(`${s.runId}: FSR n/a: ${s.note}`);
    for (const v of s.violations) console.log(`${s.runId}: version left out, integrity violation ${v}`);
    for (const f of s.flags) console.log(`${s.runId}: warning for review (still scored) ${f}`);
  }
  const assumed = scores.filter((s) => s.hint_level_source === 'assumed' && !s.error);
  if (assumed.length > 0) console.log(`hint level 0 assumed (not found in Temporal) for: ${assumed.map((s) => s.runId).join(', ')}`);

  if (scores.length > 1 && groups.length > 0) {
    const ci = (e: { value: number; lo: number; hi: number }) => `${e.value.toFixed(3)} [${e.lo.toFixed(3)}, ${e.hi.toFixed(3)}]`;
    console.log('\nacross runs (top 3 per configuration and task; excluded tasks left out; 95% bootstrap intervals):');
    const gHead = ['hint', 'scaffold', 'model', 'n', 'tasks', 'mean', 'median', 'IQM'];
    const gBody = groups.map((g) => [g.key.hint_level, g.key.scaffold, g.key.model, String(g.n), String(g.records.length), ci(g.mean), ci(g.median), ci(g.iqm)]);
    for (const line of table([gHead, ...gBody])) console.log(line);
  }
}
