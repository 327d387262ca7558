/**
 * `speedrunner tasks import`, `speedrunner data from-text|fineweb` and `speedrunner score`: bringing
 * in the benchmark's tasks, making or fetching training data, and scoring finished runs by FSR.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadTask } from '../../src/config/load';
import type { TaskConfig } from '../../src/config/task';
import { FINEWEB_BASE_URL, downloadFineweb, finewebFileNames, type DownloadProgress } from '../../src/data/fineweb';
import { tokenizeFilesToShards } from '../../src/data/from-text';
import { homeDir } from '../../src/paths';
import { loadRunView } from '../../src/store/run-view-store';
import type { RunView } from '../../core/types';
import { fsrMetrics, scoredVersions } from '../../core/fsr-versions';
import { aggregateScores, runFsr, type GroupScore, type ScoreRow } from '../../src/speedrun/scoring';
import { ArtifactStore } from '../../src/store/artifact-store';
import { importReferenceTasks } from '../../src/tasks/import-reference';
import { connectClient, usesExternalCluster } from '../../temporal/client/connection';
import { defaultPort, isPortOpen } from '../../temporal/client/dev-server';
import { SA } from '../../core/search-attributes';

export function registerTaskAndDataCommands(program: Command): void {
  // `tasks` (list, show) may already exist: add to it rather than defining a second one.
  const tasks = program.commands.find((c) => c.name() === 'tasks') ?? program.command('tasks').description('tasks, built-in and imported');
  tasks
    .command('import')
    .argument('<path>', 'a checkout of facebookresearch/llm-speedrunner')
    .option('--json', 'machine-readable output')
    .description('import the NanoGPT speedrun tasks (nanogpt_speedrun/speedrun_record_R) of a reference checkout')
    .action((path, opts) => importTasks(path, opts));

  const data = program.command('data').description('training data for speedrun tasks (.bin token shards)');
  data
    .command('from-text')
    .argument('<files...>', 'text files (.txt: one document each; .jsonl: one document per line, its "text" field)')
    .requiredOption('--out <dir>', 'directory for fineweb_val_000000.bin and fineweb_train_NNNNNN.bin')
    .option('--shard-tokens <n>', 'tokens per train shard', '100000000')
    .option('--val-tokens <n>', 'tokens in the val shard (default: 10% of the corpus)')
    .option('--json', 'machine-readable output')
    .description('tokenize local text with GPT-2 BPE into speedrun shards, offline')
    .action((files, opts) => fromText(files, opts));
  data
    .command('fineweb')
    .requiredOption('--train-shards <n>', 'train shards to fetch, 1..103 (100M tokens, ~200 MB each)')
    .option('--out <dir>', 'target directory (default: <home>/data/fineweb10B)')
    .description('download GPT-2-tokenized FineWeb shards from Hugging Face (kjj0/fineweb10B-gpt2), resumable; honours HF_ENDPOINT')
    .action((opts) => fineweb(opts));

  program
    .command('score')
    .argument('<runIds...>')
    .option('--json', 'machine-readable output')
    .option('--target <loss>', 'val_loss bound a version must keep to count', '3.28')
    .option('--strict', 'valid means val_loss < target (the offline analysis uses --target 3.29 --strict)')
    .description('Fraction of Speedup Recovered of finished runs, and mean / median / IQM across them')
    .action((runIds, opts) => score(runIds, opts));
}

// ───────────────────────────── tasks import ─────────────────────────────

async function importTasks(path: string, opts: { json?: boolean }) {
  const ref = resolve(path);
  const taskDir = join(ref, 'config', 'task', 'nanogpt_speedrun');
  const notCheckout = (what: string) =>
    new ConfigError(`${ref} is not an llm-speedrunner checkout: ${what}. Clone https://github.com/facebookresearch/llm-speedrunner and pass its path.`);
  if (!existsSync(ref) || !statSync(ref).isDirectory()) throw notCheckout('no such directory');
  if (!existsSync(taskDir)) throw notCheckout(`missing config/task/nanogpt_speedrun/`);
  if (!readdirSync(taskDir).some((n) => /^speedrun_record_\d+\.ya?ml$/.test(n))) throw notCheckout('no speedrun_record_R.yaml in config/task/nanogpt_speedrun/');
  if (!existsSync(join(ref, 'workspace_templates', 'nanogpt_speedrun'))) throw notCheckout('missing workspace_templates/nanogpt_speedrun/');

  const dest = join(homeDir(), 'imported');
  const s = await importReferenceTasks(ref, dest);
  if (s.failed.length > 0) process.exitCode = 1;
  if (opts.json) {
    console.log(JSON.stringify(s));
    return;
  }
  for (const t of s.tasks) {
    const excluded = t.excludedFromScores ? ', excluded from scores' : '';
    console.log(`${t.status.padEnd(9)} ${t.id}  (baseline ${t.baselineMs} ms → target ${t.targetMs} ms${excluded})`);
  }
  for (const f of s.failed) console.log(`FAILED    ${f.id}: ${f.error}`);
  for (const w of s.warnings) console.log(`warning: ${w}`);
  const c = s.counts;
  console.log(`${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.failed} failed; written under ${dest}`);
  if (s.tasks.length > 0) console.log(`run one with: speedrunner run task=${s.tasks[0].id}`);
}

// ───────────────────────────── data ─────────────────────────────

function positiveInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(String(raw).replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${flag} must be a positive integer, got '${raw}'`);
  return n;
}

/** The overrides that point a run at shards in dir. */
const dataOverrides = (dir: string) => `data.train_files='${dir}/fineweb_train_*.bin' data.val_files='${dir}/fineweb_val_*.bin'`;

async function fromText(files: string[], opts: { out: string; shardTokens: string; valTokens?: string; json?: boolean }) {
  for (const f of files) if (!existsSync(f) || !statSync(f).isFile()) throw new ConfigError(`no such file: ${f}`);
  const out = resolve(opts.out);
  const res = await tokenizeFilesToShards(files, out, {
    shardTokens: positiveInt('--shard-tokens', opts.shardTokens),
    valTokens: positiveInt('--val-tokens', opts.valTokens),
  });
  if (opts.json) {
    console.log(JSON.stringify({ out, ...res }));
    return;
  }
  console.log(`${res.totalTokens} tokens from ${res.documents} document(s) in ${files.length} file(s):`);
  for (const line of table(res.files.map((f) => [`  ${f.path}`, f.split, `${f.tokens} tokens`]))) console.log(line);
  for (const r of res.removed) console.log(`  removed stale ${r}`);
  const val = res.files[0].tokens;
  console.log(`use: ${dataOverrides(out)} data.val_tokens=<below ${val}, a multiple of the sequence length>`);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** A one-line bar redrawn in place on a terminal; plain start/finish lines otherwise (logs, CI). */
function progressPrinter() {
  const tty = Boolean(process.stderr.isTTY);
  let last = 0;
  // Rate is measured from the first bytes of this attempt (a server may ignore the resume and start over).
  let base: { at: number; bytes: number } | undefined;
  let drawn = false;
  return {
    start(name: string, from: number) {
      base = undefined;
      if (!tty) console.log(from > 0 ? `resuming ${name} at ${mb(from)}` : `downloading ${name}`);
    },
    progress({ name, received, total }: DownloadProgress) {
      base ??= { at: Date.now(), bytes: received };
      if (!tty || Date.now() - last < 100) return;
      last = Date.now();
      const frac = total ? received / total : 0;
      const width = 30;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      const secs = (Date.now() - base.at) / 1000;
      const rate = secs > 0.5 ? ` ${mb((received - base.bytes) / secs)}/s` : '';
      process.stderr.write(`\r${name} [${bar}] ${(100 * frac).toFixed(0).padStart(3)}% ${mb(received)}${total ? ` / ${mb(total)}` : ''}${rate}\x1b[K`);
      drawn = true;
    },
    end() {
      if (drawn) process.stderr.write('\r\x1b[K');
      drawn = false;
    },
    retry(name: string, attempt: number, err: Error) {
      this.end();
      console.log(`${name}: ${err.message}; retrying (attempt ${attempt + 1})`);
    },
  };
}

async function fineweb(opts: { trainShards: string; out?: string }) {
  const n = positiveInt('--train-shards', opts.trainShards)!;
  try {
    finewebFileNames(n);
  } catch (err) {
    throw new ConfigError(`--train-shards: ${(err as Error).message}`);
  }
  const out = resolve(opts.out ?? join(homeDir(), 'data', 'fineweb10B'));
  // HF_ENDPOINT is how Hugging Face tools are pointed at a mirror.
  const baseUrl = process.env.HF_ENDPOINT ? `${process.env.HF_ENDPOINT.replace(/\/$/, '')}/datasets/kjj0/fineweb10B-gpt2/resolve/main` : FINEWEB_BASE_URL;
  const bar = progressPrinter();
  let files;
  try {
    files = await downloadFineweb(out, n, {
      baseUrl,
      onFileStart: (name, from) => bar.start(name, from),
      onProgress: (p) => bar.progress(p),
      onRetry: (name, attempt, err) => bar.retry(name, attempt, err),
    });
  } finally {
    bar.end();
  }
  for (const f of files) {
    const how = f.outcome === 'present' ? 'already present' : f.outcome;
    console.log(`${f.path}: ${f.tokens.toLocaleString('en')} tokens (${mb(f.bytes)}), ${how}`);
  }
  console.log(`use: ${dataOverrides(out)}`);
}

// ───────────────────────────── score ─────────────────────────────

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
  /** Versions left out because the run flagged them (touched timing or validation code, or a time
   * the harness's clock contradicts), as `v_<n>: <first flag>`. */
  flags: string[];
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
  };
}

/**
 * One run's score. Versions are the agent's own (the root is record R's code, timed at t_R by
 * definition), that finished (`ok`), carry no flag, and keep val_loss within the bound; t_agent
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
  const flags = view.nodes.filter((n) => n.stage !== 'root' && n.status === 'ok' && n.flags?.length).map((n) => `v_${n.id}: ${n.flags![0]}`);
  const nodes = scoredVersions(view.nodes);
  const versions = fsrMetrics(nodes, records.metric);
  const r = runFsr({ baselineMs: records.baseline, targetMs: records.target, versions }, rule);
  const best = r.bestIndex === undefined ? undefined : nodes[r.bestIndex];
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

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}

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
    for (const f of s.flags) console.log(`${s.runId}: version left out, flagged ${f}`);
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
