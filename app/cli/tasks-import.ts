// `speedrunner tasks import`: the benchmark's NanoGPT speedrun tasks from a reference checkout.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../src/config/load';
import { homeDir } from '../../src/paths';
import { importReferenceTasks } from '../../src/tasks/import-reference';

export function registerTasksImportCommand(program: Command): void {
  // `tasks` (list, show) may already exist: add to it rather than defining a second one.
  const tasks =
    program.commands.find((c) => c.name() === 'tasks') ??
    program.command('tasks').description('tasks, built-in and imported');
  tasks
    .command('import')
    .argument('<path>', 'a checkout of facebookresearch/llm-speedrunner')
    .option('--json', 'machine-readable output')
    .description('import the NanoGPT speedrun tasks (nanogpt_speedrun/speedrun_record_R) of a reference checkout')
    .action((path, opts) => importTasks(path, opts));
}

async function importTasks(path: string, opts: { json?: boolean }) {
  const ref = resolve(path);
  const taskDir = join(ref, 'config', 'task', 'nanogpt_speedrun');
  const notCheckout = (what: string) =>
    new ConfigError(
      `${ref} is not an llm-speedrunner checkout: ${what}. Clone https://github.com/facebookresearch/llm-speedrunner and pass its path.`,
    );
  if (!existsSync(ref) || !statSync(ref).isDirectory()) throw notCheckout('no such directory');
  if (!existsSync(taskDir)) throw notCheckout(`missing config/task/nanogpt_speedrun/`);
  if (!readdirSync(taskDir).some((n) => /^speedrun_record_\d+\.ya?ml$/.test(n)))
    throw notCheckout('no speedrun_record_R.yaml in config/task/nanogpt_speedrun/');
  if (!existsSync(join(ref, 'workspace_templates', 'nanogpt_speedrun')))
    throw notCheckout('missing workspace_templates/nanogpt_speedrun/');

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
  console.log(
    `${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.failed} failed; written under ${dest}`,
  );
  if (s.tasks.length > 0) console.log(`run one with: speedrunner run task=${s.tasks[0].id}`);
}
