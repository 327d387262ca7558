// The crossover operator's prompts: a child of two parents. The first parent's files are the code the
// edits apply to; the second parent's are shown beside them, to take the better parts from. The rest
// (task, instructions, packages) is the usual ideator and coder message.
import type { NodeBrief } from '../../core/history';
import { codeBlock, describeResult, section } from '../agent/prompts';

/** What the ideator is asked for a crossover: one plan that combines both parents, shown the second's code and result. */
export function crossoverIdeaAsk(parent: NodeBrief, second: NodeBrief, secondFiles: Record<string, string>): string {
  return [
    `Propose one new version that combines v_${parent.id} (its code is below) with v_${second.id}:`,
    `keep what makes each of them good on the objective, starting from v_${parent.id}'s code.`,
    section(`Code of v_${second.id} (the other parent)`, codeBlock(secondFiles)),
    section(`Result of v_${second.id}`, describeResult(second)),
  ].join('\n');
}

/**
 * The coder's first message for a crossover: `base`, the usual message on the first parent
 * (coder-prompt.ts coderMessage), after the second parent's code to draw from.
 */
export function crossoverCoderMessage(
  base: string,
  parent: NodeBrief,
  second: NodeBrief,
  secondFiles: Record<string, string>,
): string {
  return [
    section(
      'Crossover',
      `This version is a child of two parents, v_${parent.id} and v_${second.id}. Your edits apply to v_${parent.id}'s files (the current code below); ` +
        `bring in from v_${second.id} what the idea asks for. Do not edit v_${second.id}'s code: it is shown for reference.`,
    ),
    section(`Code of v_${second.id} (the other parent, for reference)`, codeBlock(secondFiles)),
    section(`Result of v_${second.id}`, describeResult(second, false)),
    base,
  ].join('\n');
}
