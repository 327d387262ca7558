// `speedrunner score`: FSR of finished runs, and the benchmark's aggregates across them.
import { join } from 'node:path';
import type { Command } from 'commander';
import { table } from './render';
import { ConfigError, loadTask } from '../../src/config/load';
import type { TaskConfig } from '../../src/config/task';
import { homeDir } from '../../src/paths';
import { ArtifactStore } from '../../src/store/artifact-store';
import { loadRunView } from '../../src/store/run-view-store';
import { aggregateScores, type GroupScore } from '../../src/score/aggregate';
import { loadStoredRuns } from '../../src/score/load-runs';
import {
  checkScorable,
  offlineRule,
  scoreRow,
  scoreRun,
  type RunFacts,
  type RunScore,
  type ScoreRule,
} from '../../src/score/run-score';
import { closeClient, maybeClient, resolveScoreTargets, temporalHintLevels } from '../../temporal/client/score-targets';

export type { RunScore } from '../../src/score/run-score';

const CONFIG_KEYS = ['hint_level', 'scaffold', 'model'];

export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .argument('<runs...>', 'run ids, sweep ids, or `ls`-style visibility queries (e.g. \'Model="o3-mini"\')')
    .option('--json', 'machine-readable output')
    .option('--target <loss>', 'val_loss bound a version must keep to count', '3.28')
    .option('--strict', 'valid means val_loss < target')
    .option(
      '--offline-rule',
      "the analysis notebooks' rule: val_loss < 3.29 on every version with metrics, whatever its status or marks",
    )
    .option(
      '--group-by <keys>',
      `aggregate over these of ${CONFIG_KEYS.join(',')} (fewer keys pool configurations)`,
      CONFIG_KEYS.join(','),
    )
    .option('--resamples <n>', 'stratified-bootstrap replications', '50000')
    .option('--seed <n>', 'bootstrap seed', '0')
    .description(
      'Fraction of Speedup Recovered of runs, and per configuration FSR-bar ± SEM, median / IQM / mean / optimality gap with 95% stratified-bootstrap intervals',
    )
    .action((runs, opts) => score(runs, opts));
}

interface ScoreOptions {
  json?: boolean;
  target: string;
  strict?: boolean;
  offlineRule?: boolean;
  groupBy: string;
  resamples: string;
  seed: string;
}

function parseOptions(opts: ScoreOptions) {
  const target = Number(opts.target);
  if (!Number.isFinite(target) || target <= 0)
    throw new ConfigError(`--target must be a positive number, got '${opts.target}'`);
  const rule: ScoreRule = opts.offlineRule ? offlineRule() : { target, strict: Boolean(opts.strict), offline: false };
  const groupBy = opts.groupBy
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const bad = groupBy.filter((k) => !CONFIG_KEYS.includes(k));
  if (bad.length || groupBy.length === 0)
    throw new ConfigError(`--group-by takes some of ${CONFIG_KEYS.join(', ')}; got '${opts.groupBy}'`);
  const resamples = Number(opts.resamples);
  const seed = Number(opts.seed);
  if (!Number.isInteger(resamples) || resamples < 0)
    throw new ConfigError(`--resamples must be a whole number, got '${opts.resamples}'`);
  if (!Number.isInteger(seed) || seed < 0) throw new ConfigError(`--seed must be a whole number, got '${opts.seed}'`);
  return { rule, groupBy, resamples, seed };
}

async function score(args: string[], opts: ScoreOptions) {
  const { rule, groupBy, resamples, seed } = parseOptions(opts);
  const defaultStore = join(homeDir(), 'store');
  const home = new ArtifactStore(defaultStore);
  const resolved = await resolveScoreTargets(args, {
    defaultStore,
    stored: async (id) => (await loadRunView(home, id)) !== undefined,
  });
  const { targets } = resolved;
  let client = resolved.client;
  try {
    const unique = [...new Map(targets.map((t) => [t.runId, t])).values()];
    const stored = await loadStoredRuns(
      unique.map((t) => ({ runId: t.runId, stores: [...new Set([defaultStore, ...(t.store ? [t.store] : [])])] })),
    );
    const missing = unique.filter((_, i) => !stored[i]);
    const skipped = missing
      .filter((t) => t.from)
      .map((t) => ({ runId: t.runId, reason: `no stored view yet (${t.from})` }));
    const lost = missing.filter((t) => !t.from);
    if (lost.length)
      throw new ConfigError(
        `no stored view of run ${lost.map((t) => t.runId).join(', ')} in ${defaultStore}${lost.some((t) => t.store) ? ' or the store its workflow names' : ''}`,
      );
    if (stored.every((s) => !s))
      throw new ConfigError(`nothing to score: ${args.join(' ')} named no run with a stored view`);

    // Views that stored no config (runs older than configRef): the task as this host has it, the hint level from Temporal.
    const legacy = unique.filter((_, i) => stored[i] && !stored[i]!.config);
    const askTemporal = legacy.filter((t) => !t.hintLevel).map((t) => t.runId);
    if (askTemporal.length && !client) client = await maybeClient();
    const hints = await temporalHintLevels(client, askTemporal);
    const tasks = new Map<string, TaskConfig | undefined>();
    const taskOf = (id: string) => {
      if (!tasks.has(id)) {
        try {
          tasks.set(id, loadTask(id));
        } catch {
          tasks.set(id, undefined); // an imported task removed since
        }
      }
      return tasks.get(id);
    };
    const facts: RunFacts[] = [];
    unique.forEach((t, i) => {
      const s = stored[i];
      if (!s) return;
      facts.push(
        s.config
          ? { view: s.view, config: s.config }
          : { view: s.view, task: taskOf(s.view.task), temporalHintLevel: t.hintLevel ?? hints.get(t.runId) },
      );
    });
    const scores = facts.map((f) => scoreRun(f, rule));
    checkScorable(scores);
    const groups: GroupScore[] = aggregateScores(scores.map(scoreRow), {
      configKeys: CONFIG_KEYS,
      groupBy,
      resamples,
      seed,
    });
    const aggregation = {
      top_k: 3,
      valid_range: [0, 3],
      group_by: groupBy,
      resamples,
      seed,
      confidence: 0.95,
      bootstrap: 'stratified (rliable): records resampled within each rank column',
    };

    if (opts.json)
      await writeOut([
        JSON.stringify({ rule, aggregation, runs: scores, groups, ...(skipped.length ? { skipped } : {}) }),
      ]);
    else await writeOut(textLines(scores, groups, rule, skipped));
  } finally {
    await closeClient(client);
  }
}

const fmtMs = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`);
const fmtFsr = (s: RunScore) => (s.fsr === null ? 'n/a' : `${s.fsr.toFixed(3)}${s.excluded ? ' (excluded)' : ''}`);

/**
 * Writes to stdout and waits until it is handed off: the CLI exits right after the action, and a
 * pipe drops what is still buffered then (thousands of runs are megabytes of output).
 */
const writeOut = (lines: string[]) =>
  new Promise<void>((done) => process.stdout.write(lines.length ? lines.join('\n') + '\n' : '', () => done()));

function textLines(
  scores: RunScore[],
  groups: GroupScore[],
  rule: ScoreRule,
  skipped: { runId: string; reason: string }[],
): string[] {
  const out: string[] = [];
  const log = (line: string) => out.push(line);
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
    fmtFsr(s),
  ]);
  for (const line of table([head, ...body])) log(line);
  const which = rule.offline
    ? 'offline rule: every version with metrics, val_loss < 3.29'
    : `valid: val_loss ${rule.strict ? '<' : '<='} ${rule.target}`;
  log(`${which}; FSR = (t_baseline - t_agent) / (t_baseline - t_target)`);
  for (const s of scores) {
    for (const v of s.violations)
      log(
        `${s.runId}: ${rule.offline ? 'counted by the offline rule despite' : 'version left out,'} integrity violation ${v}`,
      );
    for (const f of s.flags) log(`${s.runId}: warning for review (still scored) ${f}`);
  }
  for (const s of skipped) log(`${s.runId}: not scored: ${s.reason}`);
  const assumed = scores.filter((s) => s.hint_level_source === 'assumed');
  if (assumed.length > 0)
    log(
      `hint level 0 assumed (the run stored no config, and Temporal has none) for: ${assumed.map((s) => s.runId).join(', ')}`,
    );

  if (groups.length === 0) return out;
  const ci = (e: { value: number; lo: number; hi: number }) =>
    `${e.value.toFixed(3)} [${e.lo.toFixed(3)}, ${e.hi.toFixed(3)}]`;
  log(
    '\nper configuration: top 3 FSR per record (outside [0, 3] → 0, padded), FSR-bar ± SEM of the 3 rank means; 95% stratified-bootstrap intervals:',
  );
  const keys = Object.keys(groups[0].key);
  const gHead = [
    ...keys.map((k) => (k === 'hint_level' ? 'hint' : k)),
    'records',
    'runs',
    'FSR-bar ± SEM',
    'median',
    'IQM',
    'mean',
    'opt. gap',
  ];
  const gBody = groups.map((g) => [
    ...keys.map((k) => g.key[k]),
    String(g.records.length),
    String(g.runs),
    `${g.fsr_bar.toFixed(3)} ± ${g.sem.toFixed(3)}`,
    ci(g.median),
    ci(g.iqm),
    ci(g.mean),
    ci(g.optimality_gap),
  ]);
  for (const line of table([gHead, ...gBody])) log(line);
  const padded = groups.filter((g) => g.padded > 0);
  if (padded.length)
    log(
      `padded (fewer than 3 runs of a record): ${padded.map((g) => `${Object.values(g.key).join('/')} ${g.padded} of ${g.rows}`).join(', ')}`,
    );
  return out;
}
