// Analysis of one execution: metrics from the logs (patterns first, the LLM for what they missed),
// the verdict, and a short LLM summary of the outcome for later prompts.
import { z } from 'zod';
import type { RunConfig } from '../config/schema';
import { HARNESS_WALL_METRIC, type TaskConfig } from '../config/task';
import { cachedChat } from '../llm/cached-chat';
import { addUsage, noUsage, type TokenUsage } from '../../core/usage';
import { extractEvalMetrics, extractMetrics, judgeExecution, type Verdict } from '../metrics/analyze';
import { checkExecution } from '../integrity/execution-rules';
import type { Violation } from '../integrity/rules';
import { integrityReason } from '../../core/violations';
import type { ArtifactStore } from '../store/artifact-store';
import { StoredLog } from '../metrics/stored-log';
import { redactText, secretValues } from '../secrets/redact';
import { rolePrompt, section, tail, taskDescription } from './prompts';
import type { ExecutionResult } from '../exec/result';

/** Longest summary kept in a node (it is repeated in every later prompt that lists the node). */
export const SUMMARY_CHARS = 400;

export interface AnalysisInput {
  runId: string;
  nodeId: number;
  config: RunConfig;
  exec: ExecutionResult;
}

export interface Analysis extends Verdict {
  /** Metrics the agent may see, with the harness's own wall time. */
  metrics: Record<string, number>;
  /** The task's `private_metrics`: they count for validity but never enter a prompt. */
  private_metrics: Record<string, number>;
  summary?: string;
  /** Warnings for review: they exclude nothing. */
  flags: string[];
  /** Named integrity rules the execution broke (docs/integrity.md): the version is buggy, never best, never scored. */
  violations: Violation[];
  /** Metrics the patterns missed and the LLM read from the log. */
  llm_metrics?: string[];
  usage: TokenUsage;
  llm_ms: number;
}

type MetricType = 'float' | 'int';

/** What must be cut from any text before it reaches the model: everything showing a private metric. */
interface Hidden {
  names: string[];
  patterns: string[];
  values: string[];
}

export async function analyzeExecution(
  store: ArtifactStore,
  input: AnalysisInput,
  signal?: AbortSignal,
): Promise<Analysis> {
  const { config, exec } = input;
  const { task } = config;
  const hidden = hiddenOf(task);
  let usage = noUsage();
  let llmMs = 0;
  const notes: string[] = [];
  const llmMetrics: string[] = [];
  /** Asks the LLM for the wanted metrics the patterns missed (never a private one). */
  const fillIn = async (
    role: string,
    logEnd: string,
    found: Record<string, number>,
    wanted: Record<string, MetricType>,
  ) => {
    const missing = Object.fromEntries(
      Object.entries(wanted).filter(([n]) => !(n in found) && !hidden.names.includes(n)),
    );
    if (!config.analysis.llm_metric_fallback || Object.keys(missing).length === 0) return found;
    const started = Date.now();
    const user = [
      section(
        'Metrics to report (name: type)',
        Object.entries(missing)
          .map(([n, t]) => `${n}: ${t}`)
          .join('\n'),
      ),
      section('Log (end)', tail(logEnd, config.max_log_len)),
    ].join('\n');
    const reply = await cachedChat(
      store,
      config.model,
      { system: rolePrompt('analyzer'), messages: [{ role: 'user', content: user }] },
      { runId: input.runId, nodeId: input.nodeId, role, attempt: 0 },
      signal,
    );
    usage = addUsage(usage, reply.usage);
    llmMs += Date.now() - started;
    const parsed = parseMetricReply(reply.text, missing);
    if ('error' in parsed) {
      notes.push(`the LLM's metric reply was ignored: ${parsed.error}`);
      return found;
    }
    llmMetrics.push(...Object.keys(parsed.metrics));
    return { ...found, ...parsed.metrics };
  };

  // Logs are read as bytes, line by line; only a bounded end of each becomes text for a prompt.
  const log = await StoredLog.read(store, exec.logRef);
  const evalLog = exec.eval ? await StoredLog.read(store, exec.eval.logRef) : undefined;
  let measured = extractMetrics(task, log.lines());
  let evalMetrics = evalLog === undefined ? {} : extractEvalMetrics(task, evalLog.lines());
  // Private values the patterns found are cut from every text too, wherever else the logs print them.
  hidden.values = hidden.names
    .map((n) => evalMetrics[n] ?? measured[n])
    .filter((v) => v !== undefined)
    .map(String)
    .filter(distinctive);
  const logEnd = shownEnd(log, hidden, config.max_log_len);
  const evalEnd = evalLog && shownEnd(evalLog, hidden, config.max_log_len);
  if (exec.outcome === 'ok') measured = await fillIn('analyzer', logEnd, measured, expectedMetrics(task));
  if (exec.eval?.outcome === 'ok' && evalEnd !== undefined)
    evalMetrics = await fillIn('analyzer-eval', evalEnd, evalMetrics, expectedEvalMetrics(task));
  measured = { ...measured, ...evalMetrics };
  const all: Record<string, number> = { ...measured, [HARNESS_WALL_METRIC]: exec.wallMs };
  const metrics: Record<string, number> = {};
  const private_metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(all))
    (hidden.names.includes(name) ? private_metrics : metrics)[name] = value;

  // Integrity from the harness's own evidence (its line clock, the data fingerprint, its own parse):
  // a named violation makes the version buggy; everything else is a warning for review.
  const integrity = checkExecution(task, {
    log,
    wallMs: exec.wallMs,
    clock: exec.clock,
    dataChanged: exec.dataChanged,
    llmMetrics,
    reportedTrainMs: all.train_time,
    completed: exec.outcome === 'ok',
  });
  const flags = integrity.warnings;
  const violations = integrity.violations;
  const judgedRun =
    evalFailure(task, exec, evalEnd, hidden) ?? judgeExecution(task, exec, all, tail(logEnd, 2000), hidden.names);
  const verdict: Verdict =
    violations.length && judgedRun.status === 'ok'
      ? { status: 'buggy', valid: false, reason: integrityReason(violations) }
      : judgedRun;
  const reason = [verdict.reason, ...notes].filter(Boolean).join('; ') || undefined;
  const judged: Verdict = { status: verdict.status, valid: verdict.valid, ...(reason ? { reason } : {}) };

  let summary: string | undefined;
  if (config.analysis.llm_summary) {
    const started = Date.now();
    const user = [
      // The reference's summary prompt states the job's goal, so the summary can say whether it was reached.
      section('Goal of the run', taskDescription(config)),
      section('Outcome', `${judged.status}${judged.reason ? `: ${judged.reason}` : ''}`),
      section(
        'Metrics',
        Object.entries(metrics)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n'),
      ),
      section('Flags', flags.join('\n')),
      section('Log (end)', tail(logEnd, config.max_log_len)),
      section('Eval log (end)', evalEnd === undefined ? undefined : tail(evalEnd, config.max_log_len)),
    ].join('\n');
    const reply = await cachedChat(
      store,
      config.model,
      { system: rolePrompt('summarizer'), messages: [{ role: 'user', content: user }] },
      { runId: input.runId, nodeId: input.nodeId, role: 'summarizer', attempt: 0 },
      signal,
    );
    usage = addUsage(usage, reply.usage);
    llmMs += Date.now() - started;
    summary = cleanSummary(reply.text, hidden);
  }
  return {
    ...judged,
    metrics,
    private_metrics,
    ...(summary ? { summary } : {}),
    flags,
    violations,
    ...(llmMetrics.length ? { llm_metrics: llmMetrics } : {}),
    usage,
    llm_ms: llmMs,
  };
}

/** Metrics the task expects from the training log (the harness's own wall time is never asked for). */
function expectedMetrics(task: TaskConfig): Record<string, MetricType> {
  const names =
    task.metric_parser === 'regex'
      ? [...Object.keys(task.metric_patterns), ...Object.keys(task.metric_types)]
      : Object.keys(task.metric_types);
  return Object.fromEntries(
    names.filter((n) => n !== HARNESS_WALL_METRIC).map((n) => [n, task.metric_types[n] ?? 'float']),
  );
}

function expectedEvalMetrics(task: TaskConfig): Record<string, MetricType> {
  if (!task.eval) return {};
  const names = [...Object.keys(task.eval.metric_patterns), ...Object.keys(task.eval.metric_types)];
  return Object.fromEntries(names.map((n) => [n, task.eval!.metric_types[n] ?? 'float']));
}

/** A version whose training ran but whose eval command failed is buggy: its metrics cannot be trusted. */
function evalFailure(
  task: TaskConfig,
  exec: ExecutionResult,
  evalLog: string | undefined,
  hidden: Hidden,
): Verdict | undefined {
  if (exec.outcome !== 'ok' || !exec.eval || exec.eval.outcome === 'ok') return undefined;
  if (exec.eval.outcome === 'timeout')
    return {
      status: 'buggy',
      valid: false,
      reason: `the eval command was killed after its ${task.eval?.timeout_s}s timeout`,
    };
  const lastLine =
    redact(evalLog ?? '', hidden)
      .trim()
      .split('\n')
      .slice(-1)[0]
      ?.slice(0, 300) ?? '';
  return {
    status: 'buggy',
    valid: false,
    reason: `the eval command exited with code ${exec.eval.exitCode ?? 'none'}${lastLine ? `: ${lastLine}` : ''}`,
  };
}

/** Values too short to be told apart from other numbers (0, 1, 42) are cut by name and pattern only. */
const distinctive = (v: string) => v.replace(/[^0-9]/g, '').length >= 3;

function shows(text: string, hidden: Hidden): boolean {
  const lower = text.toLowerCase();
  return (
    hidden.names.some((n) => lower.includes(n.toLowerCase())) ||
    hidden.patterns.some((p) => new RegExp(p).test(text)) ||
    hidden.values.some((v) => text.includes(v))
  );
}

function hiddenOf(task: TaskConfig, privateMetrics: Record<string, number> = {}): Hidden {
  return {
    names: task.private_metrics,
    patterns: task.private_metrics.flatMap((n) =>
      [task.metric_patterns[n], task.eval?.metric_patterns[n]].filter((p): p is string => Boolean(p)),
    ),
    values: Object.values(privateMetrics).map(String).filter(distinctive),
  };
}

/**
 * The end of a stored log as a prompt may show it, read without turning the whole log into a string:
 * a bounded tail (room for `maxChars` characters after lines are dropped), without the secrets this
 * worker holds (a second wall: the GPU worker already cut its own) or any line showing a private metric.
 */
function shownEnd(log: StoredLog, hidden: Hidden, maxChars: number): string {
  return redact(redactText(log.tail(Math.max(4 * maxChars, 64 * 1024)), secretValues()), hidden);
}

/** A stored log's end for a prompt (e.g. a parent's log in the debug prompt), cut to `maxChars`. */
export async function promptLogTail(
  store: ArtifactStore,
  logRef: string,
  task: TaskConfig,
  maxChars: number,
  privateMetrics?: Record<string, number>,
): Promise<string> {
  return tail(shownEnd(await StoredLog.read(store, logRef), hiddenOf(task, privateMetrics), maxChars), maxChars);
}

/** A log as a prompt may show it: for other callers (e.g. a parent's log in the debug prompt). */
export function redactPrivate(task: TaskConfig, log: string, privateMetrics?: Record<string, number>): string {
  return redact(log, hiddenOf(task, privateMetrics));
}

/** The log without any line that shows a private metric. */
function redact(log: string, hidden: Hidden): string {
  if (hidden.names.length === 0) return log;
  return log
    .split('\n')
    .filter((line) => !shows(line, hidden))
    .join('\n');
}

/** One paragraph, no sentence about a private metric, at most SUMMARY_CHARS characters. */
function cleanSummary(text: string, hidden: Hidden): string | undefined {
  const sentences = text
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(?<=[.!?])\s+/);
  const kept = sentences.filter((s) => s && !(hidden.names.length && shows(s, hidden))).join(' ');
  if (!kept) return undefined;
  return kept.length <= SUMMARY_CHARS ? kept : `${kept.slice(0, SUMMARY_CHARS - 1).trimEnd()}…`;
}

/**
 * The LLM's metric reply: a JSON object (possibly in a code fence) of the wanted names, a number
 * of the right type or null each. Anything else is an error, never a metric.
 */
export function parseMetricReply(
  text: string,
  wanted: Record<string, MetricType>,
): { metrics: Record<string, number> } | { error: string } {
  const json = /\{[\s\S]*\}/.exec(text)?.[0];
  if (!json) return { error: `no JSON object in ${JSON.stringify(text.slice(0, 80))}` };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    return { error: `not valid JSON (${(err as Error).message})` };
  }
  const shape = z.object(
    Object.fromEntries(
      Object.entries(wanted).map(([n, t]) => [n, (t === 'int' ? z.number().int() : z.number()).nullable().optional()]),
    ),
  );
  const parsed = shape.safeParse(value);
  if (!parsed.success)
    return { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'reply'}: ${i.message}`).join('; ') };
  const metrics: Record<string, number> = {};
  for (const [n, v] of Object.entries(parsed.data as Record<string, number | null | undefined>))
    if (typeof v === 'number') metrics[n] = v;
  return { metrics };
}
