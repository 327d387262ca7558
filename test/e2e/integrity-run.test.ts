import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../src/paths';
import { cli, makeEnv, tinyShardOverrides } from '../helpers/harness';

// The cheat of issue 13 through a durable run: a version that prints its train_time 100x too small,
// the key spelled "train" + "_time". It used to become best and score FSR ~3; the harness clock now
// excludes it, so the run scores what its honest versions (here: none) recovered.
const REF = join(ROOT, 'test', 'fixtures', 'reference-speedrunner');

describe('a fake train_time in a durable run', () => {
  it('is caught by clock.reported-faster-than-observed: the version is buggy, never best, FSR 0', async () => {
    const t = makeEnv(inject('temporalPort'), { SPEEDRUNNER_TASK_PATH: '' });
    expect((await cli(t, ['tasks', 'import', REF])).exitCode).toBe(0);
    const res = await cli(t, [
      'run',
      'task=nanogpt_speedrun/speedrun_record_1',
      ...(await tinyShardOverrides(t.home)),
      'task.launcher=python',
      'task.gpus_per_execution=0',
      'model=scripted',
      'model.script=test/fixtures/scripts/record-fake-time.yaml',
      'science_runner=bon',
      'n_iterations=1',
      '--json',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    const tree = JSON.parse((await cli(t, ['tree', out.runId, '--json'])).stdout);
    const cheat = tree.nodes[1];
    // Its log parses: a tiny train_time and a passing val_loss, which once made it the best.
    expect(cheat.metrics.val_loss, JSON.stringify(cheat)).toBe(3.27);
    expect(cheat.metrics.train_time).toBeLessThan(cheat.metrics.harness_wall_ms / 20);
    expect(cheat).toMatchObject({ status: 'buggy', valid: false });
    expect(cheat.reason).toMatch(/^integrity: clock\.reported-faster-than-observed: /);
    expect(tree.best?.id ?? 0).toBe(0);
    expect(out.fsr).toBe(0);
    const scored = JSON.parse((await cli(t, ['score', out.runId, '--json'])).stdout);
    expect(scored.runs[0]).toMatchObject({ fsr: 0, valid_versions: 0 });
  });
});
