// The coder's first user message. It carries what the reference's coder prompt carries (the code,
// the plan, the task description, the code instructions, the installed packages, the bug history
// and, for diff edits, the strict-diff note), in our own words. Every node gets a fresh conversation
// that starts with this message: nothing of another node's coder chat carries over.
import type { RunConfig } from '../config/schema';
import type { NodeBrief } from '../../core/history';
import type { AgentStepInput } from '../agent/steps';
import { loadKnowledge } from '../agent/knowledge';
import { buggyLineage, codeBlock, describeResult, packagesText, section, taskDescription } from '../agent/prompts';
import { crossoverCoderMessage } from './crossover-prompt';

export interface CoderPromptInput {
  config: RunConfig;
  parent: NodeBrief;
  history: NodeBrief[];
  /** The idea to implement; '' when `ideator=dummy` has no hint (the paper's no-hint runs). */
  plan: string;
  /** The editable files of the parent version; left out when the coder sees them another way (aider). */
  files?: Record<string, string>;
  /** Edits are SEARCH/REPLACE blocks, whose SEARCH text must match exactly. */
  strictDiff: boolean;
  /** The knowledge, when `knowledge_pass_to_coder` is set. */
  knowledge?: string;
}

/** True when there is no idea to implement, so the coder plans the change itself. */
export function isZeroKnowledge(config: RunConfig, plan: string): boolean {
  return config.ideator === 'dummy' && plan.trim() === '';
}

const ZERO_KNOWLEDGE_ASK = [
  'Improve the code on the task below. Nobody gives you an idea: find one yourself.',
  'First write your plan:',
  '1. the changes that could help, practical ones and bolder ones, and the one you choose;',
  '2. the implementation, broken into steps, each with short pseudocode;',
  '3. what could go wrong, and how you avoid it.',
  'Then implement the plan.',
].join('\n');

const STRICT_DIFF_NOTE = [
  'Every SEARCH part must match the current file exactly, character for character: copy the lines,',
  'leave none out (blank lines included) and keep their indentation. A SEARCH part that does not match is not applied.',
].join(' ');

const NO_QUESTIONS = 'Make the changes without asking for permission or for anything else.';

export function coderMessage(p: CoderPromptInput): string {
  const { config, parent } = p;
  const zero = isZeroKnowledge(config, p.plan);
  const bugs = buggyLineage(parent, p.history);
  const fnames = config.task.fnames;
  return [
    p.files
      ? section(
          `Current code (v_${parent.id})`,
          `Study the current version of ${fnames.join(', ')}:\n\n${codeBlock(p.files)}`,
        )
      : '',
    zero ? section('What to do', ZERO_KNOWLEDGE_ASK) : section('Idea to implement', p.plan),
    section('Task', taskDescription(config)),
    section('Instructions', config.task.code_instructions),
    section('Knowledge to use', p.knowledge),
    section('Packages', packagesText(config.task.packages)),
    section(
      'Earlier failed attempts on this code (fix these first)',
      // Without their hypotheses: the code shows what was tried, and the idea to implement says what to keep.
      bugs
        .map((n) => `### v_${n.id}${n.parent === null ? '' : ` (from v_${n.parent})`}\n${describeResult(n, false)}`)
        .join('\n\n'),
    ),
    section('Files you may edit', fnames.join(', ')),
    section(
      'Reply',
      `${NO_QUESTIONS} ${zero ? 'Reply with your plan, then the edits that implement it.' : 'Reply with the edits that implement the idea.'}${p.strictDiff ? `\n${STRICT_DIFF_NOTE}` : ''}`,
    ),
  ].join('\n');
}

/**
 * The first message of a text coder's conversation for one node (`role` is the edit format's prompt
 * file); with `crossover`, the crossover message (crossover-prompt.ts) with the other parent's code.
 */
export function firstCoderMessage(
  input: AgentStepInput,
  plan: string,
  files: Record<string, string>,
  role: string,
  crossover?: { second: NodeBrief; secondFiles: Record<string, string> },
): string {
  const { config } = input;
  const p: CoderPromptInput = {
    config,
    parent: input.parent,
    history: input.history,
    plan,
    files,
    strictDiff: role === 'coder', // data/prompts/coder.md: SEARCH/REPLACE blocks
    knowledge: config.knowledge_pass_to_coder ? loadKnowledge(config) : undefined,
  };
  return crossover
    ? crossoverCoderMessage(coderMessage(p), p.parent, crossover.second, crossover.secondFiles)
    : coderMessage(p);
}
