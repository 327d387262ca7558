import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ConfigError, resolveRunConfig } from '../../src/config/load';
import { checkBeforeStart, preflightProblems } from '../../src/config/preflight';
import { writeShard } from '../../src/data/shards';
import { ROOT } from '../../src/paths';

let home: string;
let shards: string;
const roots = () => ({ project: ROOT, home });
const problems = (overrides: string[]) => preflightProblems(resolveRunConfig(overrides, {}), roots());

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'sr-preflight-'));
  shards = join(home, 'shards');
  await writeShard(join(shards, 'train_000.bin'), [1, 2, 3, 4]);
  await writeShard(join(shards, 'val_000.bin'), [5, 6]);
  mkdirSync(join(home, 'bad'));
  writeFileSync(join(home, 'bad', 'val_000.bin'), Buffer.alloc(2048)); // zeros: no magic number
  writeFileSync(join(home, 'script.yaml'), 'rules:\n  - name: any\n    replies: [hello]\n');
  writeFileSync(join(home, 'empty-script.yaml'), 'rules: []\n');
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('checks before a run starts', () => {
  it('passes the demo run as it is', async () => {
    expect(await problems(['task=collatz'])).toEqual([]);
  });

  it('refuses a model script outside the project and SPEEDRUNNER_HOME, by path or by symlink', async () => {
    const [outside] = await problems(['model=scripted', 'model.script=../../../etc/passwd']);
    expect(outside).toMatch(
      /^model\.script '\.\.\/\.\.\/\.\.\/etc\/passwd' resolves to \/etc\/passwd, outside the project .* and SPEEDRUNNER_HOME/,
    );
    symlinkSync('/etc/passwd', join(home, 'link.yaml'));
    expect((await problems(['model=scripted', `model.script=${join(home, 'link.yaml')}`]))[0]).toMatch(
      /resolves to \/etc\/passwd, outside/,
    );
  });

  it('names a missing script and the built-in ones, and takes one under SPEEDRUNNER_HOME', async () => {
    expect((await problems(['model=scripted', 'model.script=data/scripts/nope.yaml']))[0]).toMatch(
      /^model\.script 'data\/scripts\/nope\.yaml': no such file .*Built-in scripts: .*data\/scripts\/collatz\.yaml/,
    );
    const inHome = resolveRunConfig(['model=scripted', `model.script=${join(home, 'script.yaml')}`], {});
    expect(inHome.model.script).toBe(relative(ROOT, join(home, 'script.yaml'))); // what the scripted model joins to ROOT
    expect(await preflightProblems(inHome, roots())).toEqual([]);
    expect((await problems(['model=scripted', `model.script=${join(home, 'empty-script.yaml')}`]))[0]).toMatch(
      /invalid model script .*rules: Too small/,
    );
  });

  it('names a missing workspace template, one outside workspace_templates/, and a missing hint', async () => {
    expect((await problems(['task.workspace_template=nope']))[0]).toMatch(
      /^task 'collatz': workspace_template 'nope' is not a directory .*Under .*workspace_templates: .*collatz/,
    );
    expect((await problems(['task.workspace_template=../../etc']))[0]).toMatch(
      /workspace_template '\.\.\/\.\.\/etc' points outside/,
    );
    expect((await problems(['task.entry_fname=main.py']))[0]).toMatch(
      /entry_fname 'main\.py' is not in its workspace template/,
    );
    expect((await problems(['hint_level=1']))[0]).toMatch(/task 'collatz' has no hint for level 1/);
  });

  it('wants both data globs of a speedrun task, each matching valid shards', async () => {
    const unset = await problems(['task=nanogpt_baseline']);
    expect(unset).toEqual([
      expect.stringMatching(/^task 'nanogpt_baseline' trains on token shards: set data\.train_files=/),
      expect.stringMatching(/set data\.val_files=/),
    ]);
    const none = await problems([
      'task=nanogpt_baseline',
      `data.train_files=${shards}/train_*.bin`,
      `data.val_files=${shards}/nothing_*.bin`,
    ]);
    expect(none).toEqual([`data.val_files '${shards}/nothing_*.bin' matches no file`]);
    const bad = await problems([
      'task=nanogpt_baseline',
      `data.train_files=${shards}/train_*.bin`,
      `data.val_files=${home}/bad/val_*.bin`,
    ]);
    expect(bad).toEqual([
      expect.stringMatching(/^data\.val_files '.*': 1 of 1 files are not valid shards: .*bad magic number 0/),
    ]);
    expect(
      await problems([
        'task=nanogpt_baseline',
        `data.train_files=${shards}/train_*.bin`,
        `data.val_files=${shards}/val_*.bin`,
      ]),
    ).toEqual([]);
  });

  it('throws one ConfigError listing every problem', async () => {
    const config = resolveRunConfig(['task=nanogpt_baseline', 'model=scripted', 'model.script=/etc/passwd'], {});
    const err = await checkBeforeStart(config, roots()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message.split('\n')).toEqual([
      'the run cannot start:',
      expect.stringMatching(/^ {2}- model\.script/),
      expect.stringMatching(/^ {2}- task 'nanogpt_baseline' trains on token shards: set data\.train_files/),
      expect.stringMatching(/^ {2}- task 'nanogpt_baseline' trains on token shards: set data\.val_files/),
    ]);
  });
});
