// `speedrunner audit <runId>`: the integrity verdict on every version of a finished run.
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadTask } from '../../src/config/load';
import { homeDir } from '../../src/paths';
import { ArtifactStore } from '../../src/store/artifact-store';
import { loadRunView } from '../../src/store/run-view-store';
import { auditRun } from '../../src/integrity/audit';
import { describeViolation } from '../../core/violations';
import { DEFAULT_VAL_TOKENS, parseValTokens } from './integrity';

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .argument('<runId>')
    .option('--json', 'machine-readable output')
    .option('--store <dir>', 'artifact store holding the run (default: <home>/store)')
    .option('--val-tokens <n>', 'validation tokens the run used (NANOGPT_VAL_TOKENS)', String(DEFAULT_VAL_TOKENS))
    .description("re-check a finished run's versions against the integrity rules (docs/integrity.md)")
    .action((runId, opts) => audit(runId, opts));
}

async function audit(runId: string, opts: { json?: boolean; store?: string; valTokens: string }) {
  const valTokens = parseValTokens(opts.valTokens);
  const storeDir = opts.store ?? join(homeDir(), 'store');
  const store = new ArtifactStore(storeDir);
  const view = await loadRunView(store, runId);
  if (!view) throw new ConfigError(`no stored view of run ${runId} in ${storeDir}`);
  let task;
  try {
    task = loadTask(view.task);
  } catch (err) {
    throw new ConfigError(`run ${runId}'s task ${view.task} is not available here: ${(err as Error).message}`);
  }
  const result = await auditRun(store, view, task, valTokens);
  if (opts.json) return console.log(JSON.stringify(result));
  for (const v of result.versions) {
    const verdict = v.excluded ? `EXCLUDED (${v.violations.map((x) => x.rule).join(', ')})` : 'scored';
    const warn = v.warnings.length ? `, ${v.warnings.length} warning(s)` : '';
    console.log(`v_${v.id} ${v.stage} [${v.status}]: ${verdict}${warn}`);
    for (const x of v.violations) console.log(`    ${describeViolation(x)}`);
  }
  console.log(`${result.excluded.length} of ${result.versions.length} version(s) excluded by an integrity rule`);
}
