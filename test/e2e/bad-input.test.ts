import { describe, expect, inject, it } from 'vitest';
import { cli, makeEnv } from '../helpers/harness';

// Bad config and CLI input: a clear error naming what is wrong and what would be valid, exit code 2.
describe('bad input on the command line', () => {
  const t = makeEnv(inject('temporalPort'));

  it.each([
    [['run', 'task=nope'], /unknown task 'nope'\. Valid choices: .*collatz/],
    [['run', 'model=nope'], /unknown model 'nope'\. Valid choices: .*scripted/],
    [['run', 'science_runner=nope'], /unknown science_runner 'nope'\. Valid choices: aide, bon/],
    [['run', 'bogus=1'], /unknown config key 'bogus'\. Valid keys: task, model, science_runner, n_iterations/],
    [['run', 'science_runner.debug_probb=0.1'], /unknown key 'science_runner\.debug_probb'\. Valid keys: .*debug_prob/],
    [['run', 'n_iterations=many'], /n_iterations: .*number/i],
    [['run', 'hint_level=7'], /hint_level: invalid value\. Valid choices: 0, 1, 2, 3, 1\+2, 1\+2\+3, diff/],
    [['run', 'task=broken_yaml'], /malformed YAML in .*broken_yaml\.yaml/],
    [['run', 'notakeyvalue'], /not of the form key=value/],
    // Checked before anything starts (src/config/preflight.ts), not discovered by a failing activity.
    [
      ['run', 'model=scripted', 'model.script=../../../etc/passwd'],
      /the run cannot start:\n {2}- model\.script '\.\.\/\.\.\/\.\.\/etc\/passwd' resolves to \/etc\/passwd, outside the project/,
    ],
    [['run', 'task=collatz', 'task.workspace_template=nope'], /workspace_template 'nope' is not a directory/],
    [['run', 'task=nanogpt_baseline'], /trains on token shards: set data\.train_files=.*\n.*set data\.val_files=/],
    [['retry-node', 'run-x', 'two'], /is a version number like 2 or v_2, not 'two'/],
    [['fork', 'run-x', '--node', 'v_x'], /--node is a version number like 2 or v_2, not 'v_x'/],
  ])('speedrunner %j fails clearly', async (args, message) => {
    const res = await cli(t, args);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(message);
  });

  it('config show prints the resolved config with overrides applied', async () => {
    const res = await cli(t, [
      'config',
      'show',
      'task=counter',
      'n_iterations=3',
      'science_runner=bon',
      'task.timeout_s=7',
    ]);
    expect(res.exitCode).toBe(0);
    const config = JSON.parse(res.stdout);
    expect(config.n_iterations).toBe(3);
    expect(config.task.id).toBe('counter');
    expect(config.task.timeout_s).toBe(7);
    expect(config.science_runner).toMatchObject({ id: 'bon', n_initial_hypotheses: 1, debug_prob: 0 });
    expect(config.model.provider).toBe('scripted');
    expect(config.store).toBe(`${t.home}/store`);
  });

  it('config show picks a real model when credentials are present, and keeps the key out of the config', async () => {
    const res = await cli({ ...t, env: { ...t.env, OPENAI_API_KEY: 'sk-test-not-a-real-key' } }, ['config', 'show']);
    expect(res.exitCode).toBe(0);
    expect(JSON.parse(res.stdout).model).toMatchObject({ provider: 'openai', api_key_env: 'OPENAI_API_KEY' });
    expect(res.stdout).not.toContain('sk-test-not-a-real-key');
  });
});
