// `speedrunner integrity check --task <id> --diff <patch>`: the static verdict on a patch against the
// task's starting code. Exit 0: it would be scored (warnings listed); 1: it would be excluded (the
// rules named); 2: bad input (unknown task, unreadable patch, a patch that does not apply).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, loadTask } from '../../src/config/load';
import { PatchError } from '../../src/integrity/patch';
import { RULES } from '../../src/integrity/rules';
import { describeViolation } from '../../core/violations';
import { checkPatchForTask } from '../../src/integrity/task-check';

/** The run config's `data.val_tokens` default (src/config/schema.ts). */
export const DEFAULT_VAL_TOKENS = 10_485_760;

export function parseValTokens(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`--val-tokens must be a positive integer, got '${raw}'`);
  return n;
}

export function registerIntegrityCommands(program: Command): void {
  const integrity = program
    .command('integrity')
    .description('integrity rules: what excludes a version from best and FSR');
  integrity
    .command('check')
    .requiredOption('--task <id>', 'task whose starting code the patch applies to')
    .requiredOption('--diff <patch>', 'unified diff file')
    .option('--val-tokens <n>', 'validation tokens of the runs (NANOGPT_VAL_TOKENS)', String(DEFAULT_VAL_TOKENS))
    .option('--json', 'machine-readable output')
    .description('static verdict on a patch: exit 0 scored (with warnings), 1 excluded (with the rule), 2 bad input')
    .action((opts) => check(opts));
  integrity
    .command('rules')
    .option('--json', 'machine-readable output')
    .description('the named rules whose violation excludes a version')
    .action((opts) =>
      opts.json
        ? console.log(JSON.stringify(RULES))
        : Object.entries(RULES).forEach(([k, v]) => console.log(`${k}: ${v}`)),
    );
}

function check(opts: { task: string; diff: string; valTokens: string; json?: boolean }) {
  const valTokens = parseValTokens(opts.valTokens);
  let task;
  try {
    task = loadTask(opts.task);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  let patch: string;
  try {
    patch = readFileSync(opts.diff, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the patch ${opts.diff}: ${(err as Error).message}`);
  }
  let verdict;
  try {
    verdict = checkPatchForTask(task, patch, valTokens);
  } catch (err) {
    if (err instanceof PatchError) throw new ConfigError(`${opts.diff}: ${err.message}`);
    throw err;
  }
  const excluded = verdict.violations.length > 0;
  if (opts.json) {
    console.log(JSON.stringify({ task: opts.task, verdict: excluded ? 'excluded' : 'scored', ...verdict }));
  } else {
    console.log(
      excluded
        ? `excluded: ${verdict.violations.length} violation(s)`
        : `scored${verdict.warnings.length ? ` with ${verdict.warnings.length} warning(s) for review` : ''}`,
    );
    for (const v of verdict.violations) console.log(`  ${describeViolation(v)}`);
    for (const w of verdict.warnings) console.log(`  warning: ${w}`);
  }
  process.exitCode = excluded ? 1 : 0;
}
