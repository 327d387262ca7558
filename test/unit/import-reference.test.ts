import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { globSync } from 'tinyglobby';
import YAML from 'yaml';
import { taskSchema } from '../../src/config/task';
import { importReferenceTasks } from '../../src/tasks/import-reference';
import { knowledgeFiles } from '../../src/agent/knowledge';

const FIXTURE = fileURLToPath(new URL('../fixtures/reference-speedrunner', import.meta.url));
const WS = 'workspace_templates/nanogpt_speedrun';
const KNOW = 'data/nanogpt_speedrun_knowledge_in_levels';

let tmp: string;
let ref: string;
let dest: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'import-ref-'));
  ref = join(tmp, 'ref');
  dest = join(tmp, 'imported');
  await cp(FIXTURE, ref, { recursive: true });
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function loadImported(record: number) {
  const text = await readFile(join(dest, `config/task/nanogpt_speedrun/speedrun_record_${record}.yaml`), 'utf8');
  return taskSchema.parse(YAML.parse(text));
}

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('importReferenceTasks on the fixture', () => {
  it('imports tasks 1..3 with record R as baseline and R+1 as target', async () => {
    const s = await importReferenceTasks(ref, dest);
    expect(s.failed).toEqual([]);
    expect(s.warnings).toEqual([]);
    expect(s.counts).toEqual({ created: 3, unchanged: 0, updated: 0, failed: 0 });
    expect(s.shared).toEqual([{ path: `${KNOW}/optimizer_notes.md`, status: 'created' }]);
    expect(s.tasks.map((t) => [t.id, t.status, t.baselineMs, t.targetMs, t.excludedFromScores])).toEqual([
      ['nanogpt_speedrun/speedrun_record_1', 'created', 3100000, 2250000, false],
      ['nanogpt_speedrun/speedrun_record_2', 'created', 2250000, 1400000, false],
      ['nanogpt_speedrun/speedrun_record_3', 'created', 1400000, 1310000, false],
    ]);

    const t1 = await loadImported(1);
    expect(t1).toMatchObject({
      id: 'nanogpt_speedrun/speedrun_record_1',
      workspace_template: 'nanogpt_speedrun/record_1',
      fnames: ['train_gpt2.py'],
      entry_fname: 'train_gpt2.py',
      launcher: 'torchrun',
      gpus_per_execution: 8,
      timeout_s: 45 * 60, // slurm_config_args.job_ttl, in minutes
      metric_parser: 'speedrun',
      metric_types: { val_loss: 'float', train_time: 'float', step: 'int' },
      selection_metric: 'train_time',
      lower_is_better: true,
      metrics_at_most: { val_loss: 3.28 },
      records: { metric: 'train_time', baseline: 3100000, target: 2250000, excluded_from_scores: false },
    });
    expect(t1.env).toEqual({ PYTORCH_CUDA_ALLOC_CONF: 'expandable_segments:True' });
    // task fields read from exp_config_args, interpolations resolved from the merged defaults,
    // the reference's literal `\n`s turned into line breaks
    expect(t1.description).toBe(
      'Make train_gpt2.py reach a val_loss of at most 3.28 in as little train_time as possible.',
    );
    expect(t1.code_instructions).toBe(
      'Keep these parts of train_gpt2.py as they are:\n- it runs under torchrun with 8 processes.\n- the data paths and the validation token count.\nBreaking one of these makes the run invalid.',
    );
    // the root config's workspace_args.packages
    expect(t1.packages).toEqual(['numpy', 'torch', 'tiktoken']);
    // the mini-paper wins over the tweets of level 3; level 4 is not a hint we use
    expect(t1.hints).toEqual({
      '1': `${KNOW}/record_1/level_1_pseudo.txt`,
      '2': `${KNOW}/record_1/level_2_description.txt`,
      '3': `${KNOW}/record_1/level_3_paper.txt`,
      diff: `${KNOW}/record_1/level_0_diff.txt`,
    });
    expect((await loadImported(2)).hints['9']).toBe(`${KNOW}/record_2/level_9_optimizer.txt`);

    // copies are byte-identical, and hint paths resolve from destRoot
    for (const f of ['train_gpt2.py', 'results.json']) {
      expect(await readFile(join(dest, WS, 'record_3', f))).toEqual(await readFile(join(ref, WS, 'record_3', f)));
    }
    for (const p of Object.values(t1.hints)) {
      expect(await readFile(join(dest, p), 'utf8')).toBe(
        await readFile(join(ref, KNOW, 'record_1', p.split('/').pop()!), 'utf8'),
      );
    }
    expect(await listTree(dest)).toEqual(
      [
        'config/task/nanogpt_speedrun/speedrun_record_1.yaml',
        'config/task/nanogpt_speedrun/speedrun_record_2.yaml',
        'config/task/nanogpt_speedrun/speedrun_record_3.yaml',
        `${KNOW}/optimizer_notes.md`,
        // every hint file is copied (a reference glob may pick the ones we do not use)
        ...[1, 2, 3].flatMap((r) => [
          `${KNOW}/record_${r}/level_0_diff.txt`,
          `${KNOW}/record_${r}/level_1_pseudo.txt`,
          `${KNOW}/record_${r}/level_2_description.txt`,
          `${KNOW}/record_${r}/level_3_paper.txt`,
          ...(r === 1 ? [`${KNOW}/record_1/level_3_tweets.txt`, `${KNOW}/record_1/level_4_human_tweets.txt`] : []),
          ...(r === 2 ? [`${KNOW}/record_2/level_9_optimizer.txt`] : []),
        ]),
        ...[1, 2, 3].flatMap((r) => [`${WS}/record_${r}/results.json`, `${WS}/record_${r}/train_gpt2.py`]),
      ].sort(),
    );
  });

  it('is idempotent, and repairs edits and stale files on re-import', async () => {
    await importReferenceTasks(ref, dest);
    const before = await Promise.all(
      (await listTree(dest)).map(async (f) => [f, await readFile(join(dest, f), 'utf8')]),
    );

    const again = await importReferenceTasks(ref, dest);
    expect(again.counts).toEqual({ created: 0, unchanged: 3, updated: 0, failed: 0 });
    expect(again.tasks.flatMap((t) => t.files).every((f) => f.status === 'unchanged')).toBe(true);
    const after = await Promise.all(
      (await listTree(dest)).map(async (f) => [f, await readFile(join(dest, f), 'utf8')]),
    );
    expect(after).toEqual(before);

    await writeFile(join(dest, WS, 'record_2', 'stale.py'), 'old');
    await writeFile(join(dest, KNOW, 'record_2/level_1_pseudo.txt'), 'edited');
    const repaired = await importReferenceTasks(ref, dest);
    expect(repaired.counts).toEqual({ created: 0, unchanged: 2, updated: 1, failed: 0 });
    const t2 = repaired.tasks[1];
    expect(t2.status).toBe('updated');
    expect(t2.files.filter((f) => f.status !== 'unchanged')).toEqual([
      { path: `${KNOW}/record_2/level_1_pseudo.txt`, status: 'updated' },
      { path: `${WS}/record_2/stale.py`, status: 'removed' },
    ]);
    const repairedTree = await Promise.all(
      (await listTree(dest)).map(async (f) => [f, await readFile(join(dest, f), 'utf8')]),
    );
    expect(repairedTree).toEqual(before);
  });

  it('marks excluded records and imports only the records asked for', async () => {
    const s = await importReferenceTasks(ref, dest, { records: [2, 3], excludedRecords: [2], timeoutS: 600 });
    expect(s.tasks.map((t) => [t.record, t.excludedFromScores])).toEqual([
      [2, true],
      [3, false],
    ]);
    expect((await loadImported(2)).records?.excluded_from_scores).toBe(true);
    expect((await loadImported(2)).timeout_s).toBe(600);
    await expect(importReferenceTasks(ref, dest, { records: [9] })).rejects.toThrow(
      /speedrun_record_R\.yaml task configs for records 9/,
    );
  });
});

describe('importReferenceTasks keeps every task field', () => {
  it("the reference's hint globs match in the imported root", async () => {
    await importReferenceTasks(ref, dest);
    expect(globSync(`${KNOW}/record_1/level_1_*.txt`, { cwd: dest })).toEqual([`${KNOW}/record_1/level_1_pseudo.txt`]);
    expect(globSync(`${KNOW}/record_1/level_3_*.txt`, { cwd: dest }).sort()).toEqual([
      `${KNOW}/record_1/level_3_paper.txt`,
      `${KNOW}/record_1/level_3_tweets.txt`,
    ]);
    // the paper launcher's labels: z is the no-hint run, 5 the mini-paper (level_3_paper.txt in today's checkout)
    expect(knowledgeFiles(`${KNOW}/record_1/level_z_*.txt`, dest)).toBe('none');
    expect(knowledgeFiles(`${KNOW}/record_1/level_5_*.txt`, dest)).toEqual([`${KNOW}/record_1/level_3_paper.txt`]);
    expect(knowledgeFiles(`${KNOW}/record_1/level_7_*.txt`, dest)).toEqual([]);
  });

  it('re-import updates a task whose reference config changed, and empties the old data/hints layout', async () => {
    await importReferenceTasks(ref, dest);
    const old = join(dest, 'data/hints/nanogpt_speedrun/record_1/level_1_pseudo.txt');
    await cp(join(ref, KNOW, 'record_1/level_1_pseudo.txt'), old);
    const cfg = join(ref, 'config/task/nanogpt_speedrun/default_config.yaml');
    await writeFile(cfg, (await readFile(cfg, 'utf8')).replace('job_ttl: 45', 'job_ttl: 90'));
    await writeFile(
      join(ref, 'config/default.yaml'),
      (await readFile(join(ref, 'config/default.yaml'), 'utf8')).replace('- numpy', '- numpy\n    - scipy'),
    );
    const s = await importReferenceTasks(ref, dest);
    expect(s.counts).toEqual({ created: 0, unchanged: 0, updated: 3, failed: 0 });
    expect(s.tasks[0].files.filter((f) => f.status !== 'unchanged')).toEqual([
      { path: 'config/task/nanogpt_speedrun/speedrun_record_1.yaml', status: 'updated' },
      { path: 'data/hints/nanogpt_speedrun/record_1/level_1_pseudo.txt', status: 'removed' },
    ]);
    const t1 = await loadImported(1);
    expect(t1.timeout_s).toBe(90 * 60);
    expect(t1.packages).toEqual(['numpy', 'scipy', 'torch', 'tiktoken']);
  });

  it('reads eval settings, extra env vars, bounds and a python launcher; top-level fields of older configs too', async () => {
    const taskFile = join(ref, 'config/task/nanogpt_speedrun/speedrun_record_1.yaml');
    await writeFile(
      taskFile,
      [
        'defaults:',
        '- nanogpt_speedrun/default_config',
        'preamble: You are on a shared cluster.',
        'exp_config_args:',
        '  eval_fname: eval_hellaswag.py',
        '  eval_metric_types: { accuracy: float, label: str }',
        '  eval_selection_metric: accuracy',
        '  eval_lower_is_better: false',
        '  eval_metrics_at_least: { accuracy: 0.3 }',
        '  eval_metrics_private: [accuracy_test]',
        'slurm_config_args:',
        '  use_torchrun: false',
        '  env_vars: { OMP_NUM_THREADS: 4, WHO: "${oc.env:USER}" }',
      ].join('\n'),
    );
    const s = await importReferenceTasks(ref, dest, { records: [1] });
    expect(s.warnings).toEqual([
      `${taskFile}: slurm_config_args.env_vars.WHO uses \${oc.env:USER}; ignored`,
      `${taskFile}: exp_config_args.eval_metric_types.label has type "str"; only int and float metrics are read`,
    ]);
    const t1 = await loadImported(1);
    expect(t1.env).toEqual({ OMP_NUM_THREADS: '4' });
    expect(t1).toMatchObject({
      preamble: 'You are on a shared cluster.',
      launcher: 'python',
      env: { OMP_NUM_THREADS: '4' },
      eval: { args: ['python', 'eval_hellaswag.py'], metric_types: { accuracy: 'float' } },
      selection_metric: 'accuracy',
      lower_is_better: false,
      metrics_at_least: { accuracy: 0.3 },
      metrics_at_most: { val_loss: 3.28 },
      private_metrics: ['accuracy_test'],
    });
  });
});

// The whole reference checkout (facebookresearch/llm-speedrunner) is not in this repository: point
// SPEEDRUNNER_REFERENCE_CHECKOUT at one to run this.
const CHECKOUT = process.env.SPEEDRUNNER_REFERENCE_CHECKOUT;
describe.skipIf(!CHECKOUT)(
  `importReferenceTasks on the reference checkout (${CHECKOUT ?? 'skipped: set SPEEDRUNNER_REFERENCE_CHECKOUT to a checkout of facebookresearch/llm-speedrunner'})`,
  () => {
    it('imports all 20 tasks with their description, instructions, packages and timeout', async () => {
      const s = await importReferenceTasks(CHECKOUT!, dest);
      expect(s.failed).toEqual([]);
      expect(s.tasks).toHaveLength(20);
      expect(s.shared.map((f) => f.path).sort()).toEqual([`${KNOW}/flex_attn.md`, `${KNOW}/muon.md`]);
      for (const t of s.tasks) {
        const task = await loadImported(t.record);
        expect(task.description).toMatch(/val_loss value of 3\.28 in the shortest train_time/);
        expect(task.code_instructions).toContain('save_checkpoint set to False');
        expect(task.code_instructions).toContain('8xH100');
        expect(task.code_instructions).not.toContain('\\n');
        expect(task.packages).toEqual(expect.arrayContaining(['torch', 'numpy', 'transformers']));
        expect(task.timeout_s).toBe(3600);
        expect(globSync(`${KNOW}/record_${t.record}/level_1_*.txt`, { cwd: dest })).toHaveLength(1);
      }
      expect((await importReferenceTasks(CHECKOUT!, dest)).counts.unchanged).toBe(20);
    }, 60_000);
  },
);

describe('importReferenceTasks on broken checkouts', () => {
  it('fails the tasks that need a missing results.json, naming it, and imports the rest', async () => {
    const missing = join(ref, WS, 'record_2', 'results.json');
    await rm(missing);
    const s = await importReferenceTasks(ref, dest);
    expect(s.tasks.map((t) => t.record)).toEqual([3]);
    expect(s.failed).toEqual([
      { id: 'nanogpt_speedrun/speedrun_record_1', record: 1, error: `missing ${missing}` },
      { id: 'nanogpt_speedrun/speedrun_record_2', record: 2, error: `missing ${missing}` },
    ]);
    // a failed task writes nothing
    expect((await listTree(dest)).some((f) => f.includes('record_1') || f.includes('record_2'))).toBe(false);
  });

  it('names a results.json without train_time or with bad JSON', async () => {
    const noTime = join(ref, WS, 'record_3', 'results.json');
    await writeFile(noTime, JSON.stringify({ metrics: { val_loss: 3.27 } }));
    const badJson = join(ref, WS, 'record_1', 'results.json');
    await writeFile(badJson, '{ not json');
    const s = await importReferenceTasks(ref, dest);
    expect(s.failed.map((f) => [f.record, f.error])).toEqual([
      [1, expect.stringContaining(`${badJson}: not valid JSON`)],
      [2, `${noTime}: has no metrics.train_time`],
      [3, `${noTime}: has no metrics.train_time`],
    ]);
  });

  it('needs record R+1 for the target', async () => {
    await rm(join(ref, WS, 'record_4'), { recursive: true });
    const s = await importReferenceTasks(ref, dest);
    expect(s.failed).toEqual([
      {
        id: 'nanogpt_speedrun/speedrun_record_3',
        record: 3,
        error: `missing record 4 (${join(ref, WS, 'record_4')}), whose time is this task's target`,
      },
    ]);
  });

  it('fails on a missing entry file and on malformed YAML, naming the file', async () => {
    await rm(join(ref, WS, 'record_1', 'train_gpt2.py'));
    const yamlFile = join(ref, 'config/task/nanogpt_speedrun/speedrun_record_2.yaml');
    await writeFile(yamlFile, 'defaults: [\n  broken');
    const s = await importReferenceTasks(ref, dest);
    expect(s.failed.map((f) => f.error)).toEqual([
      `missing ${join(ref, WS, 'record_1', 'train_gpt2.py')} (the entry file)`,
      expect.stringContaining(`${yamlFile}: malformed YAML`),
    ]);
  });

  it('warns about a missing hint file but still imports the task', async () => {
    const hint = join(ref, KNOW, 'record_1', 'level_2_description.txt');
    await rm(hint);
    const s = await importReferenceTasks(ref, dest, { records: [1] });
    expect(s.warnings).toEqual([`record 1: no level 2 (description) hint: missing ${hint}`]);
    expect(Object.keys((await loadImported(1)).hints).sort()).toEqual(['1', '3', 'diff']);
  });

  it('excludes a task whose target is not faster, with a warning', async () => {
    const r4 = join(ref, WS, 'record_4', 'results.json');
    await writeFile(r4, JSON.stringify({ metrics: { n_steps: 1, val_loss: 3.27, train_time: 1500000 } }));
    const s = await importReferenceTasks(ref, dest, { records: [3] });
    expect(s.tasks[0].excludedFromScores).toBe(true);
    expect(s.warnings).toEqual([
      'record 3: target 1500000 ms is not faster than baseline 1400000 ms; task excluded from scores',
    ]);
  });

  it('drops fields with unresolvable interpolations and warns about unknown defaults', async () => {
    const taskFile = join(ref, 'config/task/nanogpt_speedrun/speedrun_record_1.yaml');
    await writeFile(
      taskFile,
      [
        'defaults:',
        '- nanogpt_speedrun/default_config',
        '- nanogpt_speedrun/not_there',
        'exp_config_args:',
        '  task_description: Run as ${oc.env:USER} please',
      ].join('\n'),
    );
    const s = await importReferenceTasks(ref, dest, { records: [1] });
    expect(s.warnings).toEqual([
      expect.stringMatching(new RegExp(`^${taskFile}: defaults entry "nanogpt_speedrun/not_there" not found`)),
      `${taskFile}: exp_config_args.task_description uses \${oc.env:USER}, which cannot be resolved here; ignored`,
    ]);
    expect((await loadImported(1)).description).toBe(
      'Improve train_gpt2.py so that it reaches val_loss <= 3.28 in the shortest train_time possible.',
    );
  });

  it('excludes record 6 (the PyTorch upgrade to 7) by default', async () => {
    const cfgDir = join(ref, 'config/task/nanogpt_speedrun');
    const yaml3 = await readFile(join(cfgDir, 'speedrun_record_3.yaml'), 'utf8');
    await writeFile(join(cfgDir, 'speedrun_record_6.yaml'), yaml3.replaceAll('record_3', 'record_6'));
    await cp(join(ref, WS, 'record_3'), join(ref, WS, 'record_6'), { recursive: true });
    await cp(join(ref, WS, 'record_4'), join(ref, WS, 'record_7'), { recursive: true });
    const s = await importReferenceTasks(ref, dest, { records: [6] });
    expect(s.tasks.map((t) => [t.id, t.excludedFromScores])).toEqual([['nanogpt_speedrun/speedrun_record_6', true]]);
    expect((await loadImported(6)).records).toEqual({
      metric: 'train_time',
      baseline: 1400000,
      target: 1310000,
      excluded_from_scores: true,
    });
    expect(s.warnings).toEqual([`record 6: missing hint directory ${join(ref, KNOW, 'record_6')}; task has no hints`]);
  });

  it('refuses a directory that is not a checkout', async () => {
    await expect(importReferenceTasks(join(tmp, 'nowhere'), dest)).rejects.toThrow(
      `missing ${join(tmp, 'nowhere', 'config', 'task', 'nanogpt_speedrun')}`,
    );
  });
});
