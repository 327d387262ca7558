// The text the agent's LLM calls send, built in one place: role prompts (data/prompts/<role>.md) and
// the user messages of the ideator, the coder and the debug step. What each carries follows the
// reference harness (llm-speedrunner's core/prompts and coders/aider.py); the wording is ours.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths';
import type { RunConfig } from '../config/schema';
import { HARNESS_WALL_METRIC } from '../config/task';
import type { NodeBrief } from '../../core/history';

/** Role prompts live in data/prompts/<role>.md, versioned with the code. */
export function rolePrompt(role: string): string {
  return readFileSync(join(ROOT, 'data', 'prompts', `${role}.md`), 'utf8').trim();
}

export function section(title: string, body: string | undefined): string {
  return body && body.trim() ? `## ${title}\n${body.trim()}\n` : '';
}

export function codeBlock(files: Record<string, string>): string {
  return Object.entries(files)
    .map(([path, text]) => `${path}\n\`\`\`\n${text.replace(/\n$/, '')}\n\`\`\``)
    .join('\n\n');
}

/** The end of a log, where errors and final metrics are. */
export function tail(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `[… ${text.length - maxChars} characters cut …]\n${text.slice(-maxChars)}`;
}

/** The task as every role sees it: preamble, description (and its file), then the objective with its bounds. */
export function taskDescription(config: RunConfig): string {
  const { task } = config;
  const extra = task.description_file
    ? readFileSync(
        join(config.task_root, 'workspace_templates', task.workspace_template, task.description_file),
        'utf8',
      )
    : '';
  const goal =
    `Objective: ${task.lower_is_better ? 'minimise' : 'maximise'} ${task.selection_metric}` +
    (task.selection_metric === HARNESS_WALL_METRIC
      ? ' (the wall-clock time of the whole run, measured by the harness)'
      : '') +
    boundsText(config) +
    '.';
  return [task.preamble, task.description, extra, goal].filter(Boolean).join('\n\n');
}

/** The bounds the agent may know of: a private metric's bound would name it (and its threshold). */
function boundsText({ task }: RunConfig): string {
  const shown = ([k]: [string, number]) => !task.private_metrics.includes(k);
  const b = [
    ...Object.entries(task.metrics_at_most)
      .filter(shown)
      .map(([k, v]) => `${k} <= ${v}`),
    ...Object.entries(task.metrics_at_least)
      .filter(shown)
      .map(([k, v]) => `${k} >= ${v}`),
  ];
  return b.length ? `, subject to ${b.join(', ')}` : '';
}

const metricsText = (n: NodeBrief) =>
  Object.entries(n.metrics)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/** One line per earlier version, for the history lists. */
export function describeNode(n: NodeBrief): string {
  const metrics = metricsText(n);
  const from = n.parent === null ? '' : ` from v_${n.parent}`;
  const summary = n.summary ? ` — ${n.summary}` : '';
  return `- v_${n.id} (${n.stage}${from}): ${n.plan.split('\n')[0]} → ${n.status}${n.reason ? ` (${n.reason})` : ''}${metrics ? `; ${metrics}` : ''}${summary}`;
}

/**
 * What happened to one version: the hypothesis behind it (unless `withPlan` is false), its outcome,
 * metrics and outcome summary.
 */
export function describeResult(n: NodeBrief, withPlan = true): string {
  return [
    ...(withPlan ? [`Hypothesis: ${n.plan.split('\n')[0] || '(none)'}`] : []),
    `Outcome: ${n.status}${!n.valid && n.status === 'ok' ? ' (invalid: counts as buggy)' : ''}${n.reason ? `: ${n.reason}` : ''}`,
    `Metrics: ${metricsText(n) || '(none)'}`,
    ...(n.summary ? [`Outcome summary: ${n.summary}`] : []),
  ].join('\n');
}

/** At most this many buggy ancestors in the coder's bug history (the reference's max_len=3). */
export const BUG_HISTORY_LIMIT = 3;

/**
 * The buggy versions on the new node's own lineage: its parent and the parent's ancestors for as
 * long as they are buggy, nearest BUG_HISTORY_LIMIT, oldest first. (The reference took the buggy
 * descendants of the last good ancestor, siblings' branches included, sorted as strings.)
 */
export function buggyLineage(parent: NodeBrief, history: NodeBrief[]): NodeBrief[] {
  const byId = new Map(history.map((n) => [n.id, n]));
  byId.set(parent.id, parent);
  const out: NodeBrief[] = [];
  for (
    let cur: NodeBrief | undefined = parent;
    cur && cur.parent !== null && !cur.valid && cur.status !== 'pending' && out.length < BUG_HISTORY_LIMIT;
    cur = byId.get(cur.parent)
  ) {
    out.push(cur);
  }
  return out.sort((a, b) => a.id - b.id);
}

export function packagesText(packages: string[]): string {
  if (packages.length === 0) return '';
  return `Never install packages or ask for one: the answer is no. Besides the Python standard library, the environment has:\n${packages.map((p) => `- ${p}`).join('\n')}`;
}

export interface IdeatorMessageInput {
  config: RunConfig;
  parent: NodeBrief;
  /** What the ideator is asked to do for this stage. */
  ask: string;
  files: Record<string, string>;
  /** The end of the parent's log (debug steps only), already redacted. */
  log?: string;
  history: NodeBrief[];
  knowledge: string;
  proposed: string[];
}

/** The ideator's user message: task, constraints, the parent's code and result, history, knowledge, ideas to avoid. */
export function ideatorMessage(m: IdeatorMessageInput): string {
  const { parent } = m;
  return [
    section('Task', taskDescription(m.config)),
    section('Constraints on the code', m.config.task.code_instructions),
    section('What to do', m.ask),
    section(`Current code (v_${parent.id})`, codeBlock(m.files)),
    section(
      `Result of v_${parent.id}`,
      parent.parent === null && parent.status === 'pending' ? undefined : describeResult(parent),
    ),
    section(`Log of v_${parent.id} (end)`, m.log),
    section(
      'History (earlier versions related to this one, by version number)',
      m.history
        .filter((n) => n.id !== parent.id)
        .map(describeNode)
        .join('\n'),
    ),
    section('Knowledge', m.knowledge),
    section(
      'Already proposed in this round (propose something different)',
      m.proposed.map((p, i) => `${i + 1}. ${p.split('\n')[0]}`).join('\n'),
    ),
  ].join('\n');
}

/**
 * The debug plan of `ideator=dummy` (which has no model to ask): the failure itself, so the coder
 * fixes what broke instead of being handed the hint again.
 */
export function dummyDebugPlan(parent: NodeBrief, log: string | undefined): string {
  return [
    `Fix v_${parent.id}, which failed: ${parent.status}${parent.reason ? ` (${parent.reason})` : ''}. Keep what it was trying to do (${parent.plan.split('\n')[0] || 'its change'}); change only what makes it fail.`,
    ...(parent.summary ? [`Outcome summary: ${parent.summary}`] : []),
    ...(log ? [`End of its log:\n\`\`\`\n${log}\n\`\`\``] : []),
  ].join('\n\n');
}
