// The agent's steps (the root version, ideas) as plain functions over the store; coders are in src/coders/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../config/schema';
import { cachedChat } from '../llm/cached-chat';
import { type ChatMessage } from '../llm/types';
import { addUsage, noUsage, type TokenUsage } from '../../core/usage';
import type { Stage, Violation } from '../../core/types';
import type { NodeBrief } from '../../core/history';
import type { ArtifactStore } from '../store/artifact-store';
import { loadKnowledge } from './knowledge';
import { promptLogTail } from './analysis';
import { dummyDebugPlan, ideatorMessage, rolePrompt } from './prompts';
import { crossoverIdeaAsk } from '../coders/crossover-prompt';

export const PLAN_SUMMARY_CHARS = 300;
/** What a node's plan reads when `ideator=dummy` has no hint to pass (its stored plan is empty). */
export const ZERO_KNOWLEDGE_PLAN = '(no hint: the coder plans and implements its own change)';

/** The version the search starts from: the task's workspace template, stored as v_0. */
export async function snapshotTemplate(store: ArtifactStore, config: RunConfig): Promise<string> {
  const dir = join(config.task_root, 'workspace_templates', config.task.workspace_template);
  if (!existsSync(dir)) throw new Error(`task '${config.task.id}': workspace template ${dir} does not exist`);
  for (const f of [config.task.entry_fname, ...config.task.fnames]) {
    if (!existsSync(join(dir, f)))
      throw new Error(`task '${config.task.id}': ${f} is not in the workspace template ${dir}`);
  }
  return store.snapshotDir(dir);
}

const STAGE_ASK: Record<Exclude<Stage, 'root'>, (p: NodeBrief) => string> = {
  draft: () => 'Propose a new approach, starting from the original code below.',
  improve: (p) => `Propose one change that makes v_${p.id} better on the objective.`,
  debug: (p) => `v_${p.id} is broken: ${p.reason ?? p.status}. Propose how to fix it, keeping its idea.`,
  crossover: (p) => `Propose one change that makes v_${p.id} better on the objective.`, // replaced by crossoverIdeaAsk when the second parent is known
};

export interface AgentStepInput {
  runId: string;
  config: RunConfig;
  nodeId: number;
  stage: Exclude<Stage, 'root'>;
  parent: NodeBrief;
  /** Relevant earlier nodes (the parent's lineage, buggy descendants and other children), ordered by id. */
  history: NodeBrief[];
  /** A crossover's other parent (src/coders/crossover-prompt.ts); its code is shown, the edits apply to `parent`'s. */
  secondParent?: NodeBrief;
}

export interface IdeateInput extends AgentStepInput {
  /** Plans (store hashes) already proposed this iteration: the ideator must not repeat one. */
  proposed?: string[];
}

export interface Idea {
  plan: string;
  planRef: string;
  usage: TokenUsage;
  llm_ms: number;
  /** The model kept repeating an idea already proposed this iteration. */
  duplicate?: boolean;
}

/** Asks for a new idea again at most this many times when the model repeats one. */
const DEDUP_ATTEMPTS = 3;
const sameIdea = (a: string, b: string) =>
  a.replace(/\s+/g, ' ').trim().toLowerCase() === b.replace(/\s+/g, ' ').trim().toLowerCase();

/**
 * A hypothesis for one new version. `ideator=dummy` passes the hint through as the idea (the
 * reference's reproduction mode); `base` asks the model, and asks again when it repeats an idea
 * already proposed this iteration.
 */
export async function ideate(store: ArtifactStore, input: IdeateInput, signal?: AbortSignal): Promise<Idea> {
  const { config, parent } = input;
  const idea = async (plan: string, usage: TokenUsage, llm_ms: number, duplicate = false): Promise<Idea> => ({
    plan: (plan || ZERO_KNOWLEDGE_PLAN).slice(0, PLAN_SUMMARY_CHARS),
    planRef: await store.putBlob(plan),
    usage,
    llm_ms,
    ...(duplicate ? { duplicate } : {}),
  });
  // Private metrics never reach the agent, not even through the log of the version it debugs.
  // A bounded end of the parent's log, never the whole log as one string (see promptLogTail).
  const log =
    parent.logRef && input.stage === 'debug'
      ? await promptLogTail(store, parent.logRef, config.task, config.max_log_len, parent.private_metrics)
      : undefined;
  if (config.ideator === 'dummy') {
    // No model to ask: a debug step gets the failure to fix; the others get the hint, or nothing at
    // all without one (then the coder plans its own change: src/coders/coder-prompt.ts).
    return idea(input.stage === 'debug' ? dummyDebugPlan(parent, log) : loadKnowledge(config), noUsage(), 0);
  }

  const proposed = await Promise.all((input.proposed ?? []).map((ref) => store.getText(ref)));
  const files = await store.readSnapshotFiles(parent.snapshot!, config.task.fnames);
  const second = input.secondParent;
  const ask = second
    ? crossoverIdeaAsk(parent, second, await store.readSnapshotFiles(second.snapshot!, config.task.fnames))
    : STAGE_ASK[input.stage](parent);
  const user = ideatorMessage({
    config,
    parent,
    ask,
    files,
    log,
    history: input.history,
    knowledge: loadKnowledge(config),
    proposed,
  });
  const messages: ChatMessage[] = [{ role: 'user', content: user }];
  let usage = noUsage();
  const started = Date.now();
  let plan = '';
  for (let attempt = 0; attempt < DEDUP_ATTEMPTS; attempt++) {
    const reply = await cachedChat(
      store,
      config.model,
      { system: rolePrompt('ideator'), messages },
      { runId: input.runId, nodeId: input.nodeId, role: 'ideator', attempt },
      signal,
    );
    usage = addUsage(usage, reply.usage);
    plan = reply.text.trim() || '(the model proposed nothing)';
    if (!proposed.some((p) => sameIdea(p, plan))) return idea(plan, usage, Date.now() - started);
    messages.push(
      { role: 'assistant', content: reply.text },
      { role: 'user', content: 'That idea was already proposed in this round. Propose a different one.' },
    );
  }
  return idea(plan, usage, Date.now() - started, true);
}

export interface CodeResult {
  snapshot?: string;
  /** Why no version could be made (the node is then buggy). */
  error?: string;
  /** Warnings for review; they never exclude a version. */
  flags?: string[];
  /** Named static integrity rules the diff breaks: the version is buggy and is not executed. */
  violations?: Violation[];
  /** Set when the version was made from only part of the edits asked for: which did not apply (src/coders/edit-loop.ts). */
  notes?: string;
  attempts: number;
  usage: TokenUsage;
  llm_ms: number;
}
