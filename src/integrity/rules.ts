// The named integrity rules. A violation of any of them excludes a version from "best" and from FSR;
// everything else the checks notice is a warning for review and excludes nothing (docs/integrity.md).
import type { Violation } from '../../core/types';

export type { Violation };

export const RULES = {
  'clock.reported-faster-than-observed':
    "the script's reported train_time is smaller than the span the harness clocked from its timed step lines to its final validation line, less the validation passes, by more than the tolerance",
  'clock.burst':
    'the step lines arrived faster than the training time they report (held back and written in a burst), so their arrival cannot vouch for that time',
  'clock.exceeds-wall': 'the reported train_time is longer than the whole execution as the harness timed it',
  'val.missing': 'no validation line at or after the last training step: the final model was never validated',
  'val.tokens':
    "the number of validation tokens no longer comes unchanged from the task (NANOGPT_VAL_TOKENS or the task's own count)",
  'val.data-source':
    "validation no longer reads the task's validation files (NANOGPT_VAL_FILES), or reads the training files",
  'val.hardcoded': 'val_loss is set to, or printed as, a literal number',
  'target.parsed':
    "a bounded metric (e.g. val_loss) was not parsed by the harness from the task's log format (it came from the LLM fallback)",
  'data.modified': 'a task data file changed while the version ran',
  'env.tampered':
    "the script writes the harness's environment (NANOGPT_*, SPEEDRUNNER_*, CUDA_VISIBLE_DEVICES) or an environment key it computes",
} as const;

export type RuleName = keyof typeof RULES;

/** What the checks found about one version: warnings for review, and the named violations that exclude it. */
export interface IntegrityVerdict {
  warnings: string[];
  violations: Violation[];
}

export const violation = (rule: RuleName, detail: string): Violation => ({ rule, detail });

export function mergeVerdicts(...parts: Partial<IntegrityVerdict>[]): IntegrityVerdict {
  return { warnings: parts.flatMap((p) => p.warnings ?? []), violations: parts.flatMap((p) => p.violations ?? []) };
}
