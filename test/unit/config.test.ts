import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, listGroup, loadTask, parseOverride, resolveRunConfig } from '../../src/config/load';
import { modelSchema, scienceRunnerSchema } from '../../src/config/schema';
import { taskSchema } from '../../src/config/task';
import { ROOT } from '../../src/paths';

const FIXTURE_TASKS = join(ROOT, 'test', 'fixtures', 'tasks');

let home: string;
let saved: Record<string, string | undefined>;
beforeEach(() => {
  saved = { home: process.env.SPEEDRUNNER_HOME, path: process.env.SPEEDRUNNER_TASK_PATH };
  home = mkdtempSync(join(tmpdir(), 'sr-config-'));
  process.env.SPEEDRUNNER_HOME = home;
  process.env.SPEEDRUNNER_TASK_PATH = FIXTURE_TASKS;
});
afterEach(() => {
  for (const [k, name] of [
    ['home', 'SPEEDRUNNER_HOME'],
    ['path', 'SPEEDRUNNER_TASK_PATH'],
  ] as const) {
    if (saved[k] === undefined) delete process.env[name];
    else process.env[name] = saved[k];
  }
  rmSync(home, { recursive: true, force: true });
});

/** The ConfigError a call throws (fails the test when it throws nothing or something else). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, got none');
}

describe('resolveRunConfig defaults', () => {
  it('uses config/config.yaml: task collatz, aide with the reference values, scripted model without keys', () => {
    const c = resolveRunConfig([], {});
    expect(c.task.id).toBe('collatz');
    expect(c.task.selection_metric).toBe('harness_wall_ms');
    expect(c.task.fnames).toEqual(['collatz.py']);
    expect(c.task_root).toBe(ROOT);
    expect(c.science_runner).toEqual({
      id: 'aide',
      n_initial_hypotheses: 5,
      n_hypotheses: 1,
      debug_prob: 0.5,
      max_bug_depth: 3,
      max_n_nodes: 20,
      selection_scope: 'local',
    });
    expect(c.model.id).toBe('scripted');
    expect(c.model.provider).toBe('scripted');
    expect(c.model.script).toBe('data/scripts/collatz.yaml');
    expect(c.n_iterations).toBe(5);
    expect(c.seed).toBe(0);
    expect(c.hint_level).toBe('0');
    expect(c.execute_root).toBe(true);
    expect(c.timeouts).toEqual({ llm_call_s: 600, llm_heartbeat_s: 30, execution_heartbeat_s: 60 });
    expect(c.data.val_tokens).toBe(10_485_760);
  });

  it('resolves relative store and workspace_dir against SPEEDRUNNER_HOME at call time', () => {
    const c = resolveRunConfig([], {});
    expect(c.store).toBe(join(home, 'store'));
    expect(c.workspace_dir).toBe(join(home, 'workspaces'));
    const other = mkdtempSync(join(tmpdir(), 'sr-config-other-'));
    try {
      process.env.SPEEDRUNNER_HOME = other;
      const d = resolveRunConfig(['workspace_dir=ws/sub', 'store=/abs/store/path'], {});
      expect(d.workspace_dir).toBe(join(other, 'ws', 'sub'));
      expect(d.store).toBe('/abs/store/path');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('model=auto', () => {
  it('picks gpt-5 with OPENAI_API_KEY in the env argument', () => {
    const c = resolveRunConfig([], { OPENAI_API_KEY: 'x' });
    expect(c.model.id).toBe('gpt-5');
    expect(c.model.provider).toBe('openai');
    expect(c.model.api_key_env).toBe('OPENAI_API_KEY');
    expect(c.model.script).toBeUndefined();
  });

  it('picks claude-sonnet-4-5 with only ANTHROPIC_API_KEY', () => {
    const c = resolveRunConfig([], { ANTHROPIC_API_KEY: 'x' });
    expect(c.model.id).toBe('claude-sonnet-4-5');
    expect(c.model.provider).toBe('anthropic');
    expect(c.model.prices).toEqual({ input: 3, output: 15, cached_input: 0.3 });
  });

  it('prefers OpenAI when both keys are present', () => {
    expect(resolveRunConfig([], { OPENAI_API_KEY: 'x', ANTHROPIC_API_KEY: 'y' }).model.id).toBe('gpt-5');
  });

  it('reads the env argument, not process.env', () => {
    const before = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'from-process-env';
    try {
      expect(resolveRunConfig([], {}).model.id).toBe('scripted');
    } finally {
      if (before === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = before;
    }
  });

  it('an explicit model wins over auto', () => {
    expect(resolveRunConfig(['model=gpt-4o'], { ANTHROPIC_API_KEY: 'x' }).model.id).toBe('gpt-4o');
  });
});

describe('group selection and overrides', () => {
  it('selects group files and applies dotted overrides on top of them', () => {
    const c = resolveRunConfig(
      [
        'science_runner=bon',
        'science_runner.debug_prob=0.25',
        'model=gpt-4o',
        'model.temperature=0.2',
        'task.timeout_s=5',
        'n_iterations=12',
      ],
      {},
    );
    expect(c.science_runner.id).toBe('bon');
    expect(c.science_runner.n_initial_hypotheses).toBe(1);
    expect(c.science_runner.debug_prob).toBe(0.25);
    expect(c.model.id).toBe('gpt-4o');
    expect(c.model.temperature).toBe(0.2);
    expect(c.model.prices.input).toBe(2.5);
    expect(c.task.timeout_s).toBe(5);
    expect(c.n_iterations).toBe(12);
  });

  it('dotted overrides apply after the group file whatever their order on the command line', () => {
    const c = resolveRunConfig(['science_runner.max_n_nodes=7', 'science_runner=greedy'], {});
    expect(c.science_runner.id).toBe('greedy');
    expect(c.science_runner.debug_prob).toBe(1);
    expect(c.science_runner.max_n_nodes).toBe(7);
  });

  it('parses values as YAML: numbers, booleans, lists, nested defaults', () => {
    const c = resolveRunConfig(
      [
        'task.args=[--config,tiny]',
        'execute_root=false',
        'seed=42',
        'timeouts.llm_call_s=30',
        'data.train_files=/d/train_*.bin',
      ],
      {},
    );
    expect(c.task.args).toEqual(['--config', 'tiny']);
    expect(c.execute_root).toBe(false);
    expect(c.seed).toBe(42);
    expect(c.timeouts).toEqual({ llm_call_s: 30, llm_heartbeat_s: 30, execution_heartbeat_s: 60 });
    expect(c.data.train_files).toBe('/d/train_*.bin');
    expect(parseOverride('a.b=[1, two]')).toEqual([
      ['a', 'b'],
      [1, 'two'],
    ]);
    expect(parseOverride('x=')).toEqual([['x'], '']);
    expect(parseOverride('x=a=b')).toEqual([['x'], 'a=b']);
  });

  it('coerces a numeric hint_level to its string form', () => {
    expect(resolveRunConfig(['hint_level=1'], {}).hint_level).toBe('1');
    expect(resolveRunConfig(['hint_level=1+2'], {}).hint_level).toBe('1+2');
  });

  it('gives the scripted model the task-specific script, else the default script', () => {
    expect(resolveRunConfig(['model=scripted'], { OPENAI_API_KEY: 'x' }).model.script).toBe(
      'data/scripts/collatz.yaml',
    );
    const counter = resolveRunConfig(['task=counter'], {});
    expect(counter.task.id).toBe('counter');
    expect(counter.task_root).toBe(FIXTURE_TASKS);
    expect(counter.model.script).toBe('data/scripts/default.yaml');
    expect(resolveRunConfig(['task=counter', 'model.script=my/script.yaml'], {}).model.script).toBe('my/script.yaml');
  });
});

describe('errors', () => {
  it('an unknown top-level key lists the valid keys', () => {
    const err = configError(() => resolveRunConfig(['bogus=1'], {}));
    expect(err.message).toContain("unknown config key 'bogus'");
    expect(err.message).toMatch(/Valid keys: .*task.*model.*science_runner.*n_iterations/);
  });

  it('an unknown group value lists the valid choices', () => {
    const err = configError(() => resolveRunConfig(['science_runner=nope'], {}));
    expect(err.message).toContain("unknown science_runner 'nope'");
    expect(err.message).toContain(
      'Valid choices: aide, bon, evolutionary, flat, forest, greedy, mcts, multi_aide, paper_aide, puct, tree',
    );
    const t = configError(() => resolveRunConfig(['task=nope'], {}));
    expect(t.message).toMatch(/Valid choices: .*collatz.*counter/);
  });

  it('a nested unknown key names the full path and the valid keys at that level', () => {
    const err = configError(() => resolveRunConfig(['task.bogus=1'], {}));
    expect(err.message).toContain("unknown key 'task.bogus'");
    expect(err.message).toMatch(/Valid keys: id, description, .*timeout_s/);
    const deeper = configError(() => resolveRunConfig(['timeouts.nope=3'], {}));
    expect(deeper.message).toContain("unknown key 'timeouts.nope'");
    expect(deeper.message).toContain('Valid keys: llm_call_s, llm_heartbeat_s, execution_heartbeat_s');
  });

  it('an invalid value says where and, for enums, what is valid', () => {
    const hint = configError(() => resolveRunConfig(['hint_level=7'], {}));
    expect(hint.message).toContain('hint_level: invalid value. Valid choices: 0, 1, 2, 3, 1+2, 1+2+3, diff');
    const n = configError(() => resolveRunConfig(['n_iterations=0'], {}));
    expect(n.message).toMatch(/n_iterations: /);
    const dp = configError(() => resolveRunConfig(['science_runner.debug_prob=2'], {}));
    expect(dp.message).toMatch(/science_runner\.debug_prob: /);
  });

  it('malformed YAML names the file', () => {
    const err = configError(() => resolveRunConfig(['task=broken_yaml'], {}));
    expect(err.message).toContain('malformed YAML in');
    expect(err.message).toContain(join(FIXTURE_TASKS, 'config', 'task', 'broken_yaml.yaml'));
  });

  it('bad override syntax', () => {
    expect(configError(() => resolveRunConfig(['noequals'], {})).message).toContain(
      "'noequals' is not of the form key=value",
    );
    expect(configError(() => resolveRunConfig(['=3'], {})).message).toContain('not of the form key=value');
    expect(configError(() => resolveRunConfig(['a..b=3'], {})).message).toContain("bad override key 'a..b'");
  });

  it('a group selected with a non-string value is refused', () => {
    expect(configError(() => resolveRunConfig(['task=3'], {})).message).toContain(
      'task must name an entry of config/task/',
    );
  });
});

describe('listGroup and extra task roots', () => {
  it('lists fixture tasks only when SPEEDRUNNER_TASK_PATH points at them', () => {
    const ids = listGroup('task').map((e) => e.id);
    expect(ids).toEqual(expect.arrayContaining(['collatz', 'nanogpt_baseline', 'counter', 'broken_yaml']));
    expect(listGroup('task').find((e) => e.id === 'counter')!.root).toBe(FIXTURE_TASKS);
    delete process.env.SPEEDRUNNER_TASK_PATH;
    const without = listGroup('task').map((e) => e.id);
    expect(without).toContain('collatz');
    expect(without).not.toContain('counter');
  });

  it('reads several roots, ids with "/", and the first root wins on a clash', () => {
    const extra = mkdtempSync(join(tmpdir(), 'sr-config-root-'));
    try {
      mkdirSync(join(extra, 'config', 'task', 'nested'), { recursive: true });
      const task =
        'description: d\nworkspace_template: w\nfnames: [a.py]\nentry_fname: a.py\ntimeout_s: 3\nselection_metric: s\n';
      writeFileSync(join(extra, 'config', 'task', 'nested', 'deep.yaml'), task);
      writeFileSync(join(extra, 'config', 'task', 'collatz.yaml'), task);
      process.env.SPEEDRUNNER_TASK_PATH = `${FIXTURE_TASKS}:${extra}`;
      const entries = listGroup('task');
      expect(entries.find((e) => e.id === 'nested/deep')?.root).toBe(extra);
      expect(entries.find((e) => e.id === 'counter')?.root).toBe(FIXTURE_TASKS);
      expect(entries.filter((e) => e.id === 'collatz')).toHaveLength(1);
      expect(entries.find((e) => e.id === 'collatz')?.root).toBe(ROOT);
      const c = resolveRunConfig(['task=nested/deep'], {});
      expect(c.task.id).toBe('nested/deep');
      expect(c.task_root).toBe(extra);
      expect(c.task.launcher).toBe('python');
      expect(c.model.script).toBe('data/scripts/default.yaml');
      expect(loadTask('nested/deep').root).toBe(extra);
    } finally {
      rmSync(extra, { recursive: true, force: true });
    }
  });

  it('a config file edited between two reads is read again; a read value can be changed without touching the next', () => {
    const extra = mkdtempSync(join(tmpdir(), 'sr-config-edit-'));
    try {
      mkdirSync(join(extra, 'config', 'task'), { recursive: true });
      const file = join(extra, 'config', 'task', 'edited.yaml');
      const task = (timeout: number) =>
        `description: d\nworkspace_template: w\nfnames: [a.py]\nentry_fname: a.py\ntimeout_s: ${timeout}\nselection_metric: s\n`;
      writeFileSync(file, task(3));
      process.env.SPEEDRUNNER_TASK_PATH = extra;
      const first = loadTask('edited');
      expect(first.timeout_s).toBe(3);
      first.fnames.push('b.py'); // the caller's copy, not the parsed file's
      expect(loadTask('edited').fnames).toEqual(['a.py']);
      writeFileSync(file, task(1234)); // a different size: seen even where mtimes are coarse
      expect(loadTask('edited').timeout_s).toBe(1234);
    } finally {
      rmSync(extra, { recursive: true, force: true });
    }
  });
});

describe('every shipped config file', () => {
  beforeEach(() => {
    delete process.env.SPEEDRUNNER_TASK_PATH;
  });

  it('has at least the expected entries', () => {
    expect(listGroup('task').map((e) => e.id)).toEqual(expect.arrayContaining(['collatz', 'nanogpt_baseline']));
    expect(listGroup('model').map((e) => e.id)).toEqual(
      expect.arrayContaining(['claude-sonnet-4-5', 'gpt-4o', 'gpt-5', 'openai-compatible', 'scripted']),
    );
    expect(listGroup('science_runner').map((e) => e.id)).toEqual(expect.arrayContaining(['aide', 'bon', 'greedy']));
  });

  it('every config/task/*.yaml loads, validates and resolves into a run config', () => {
    const shipped = listGroup('task').filter((e) => e.root === ROOT);
    expect(shipped.length).toBeGreaterThanOrEqual(2);
    for (const { id } of shipped) {
      const { root, ...task } = loadTask(id);
      expect(root).toBe(ROOT);
      expect(taskSchema.parse(task)).toEqual(task);
      expect(task.id).toBe(id);
      expect(resolveRunConfig([`task=${id}`], {}).task.id).toBe(id);
    }
  });

  it('every config/model/*.yaml validates and resolves', () => {
    for (const { id } of listGroup('model')) {
      const c = resolveRunConfig([`model=${id}`], {});
      expect(c.model.id).toBe(id);
      expect(modelSchema.parse(c.model)).toEqual(c.model);
    }
  });

  it('every config/science_runner/*.yaml validates and resolves', () => {
    for (const { id } of listGroup('science_runner')) {
      const c = resolveRunConfig([`science_runner=${id}`], {});
      expect(c.science_runner.id).toBe(id);
      expect(scienceRunnerSchema.parse(c.science_runner)).toEqual(c.science_runner);
    }
  });
});
