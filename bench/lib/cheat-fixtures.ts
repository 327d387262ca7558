// The cheat fixtures of test/fixtures/cheats, run the way the harness meets them: scripts through
// executeVersion (the GPU worker's path, with its line clock and data fingerprint) and the run-time
// rules; patches through the static check against the nanogpt_baseline task.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../src/paths';
import { taskSchema } from '../../src/config/task';
import { loadTask } from '../../src/config/load';
import { executeVersion } from '../../src/exec/execute-version';
import { ArtifactStore } from '../../src/store/artifact-store';
import { StoredLog } from '../../src/metrics/stored-log';
import { checkExecution } from '../../src/integrity/execution-rules';
import { checkPatchForTask } from '../../src/integrity/task-check';
import type { IntegrityVerdict } from '../../src/integrity/rules';
import type { ClockEvidence } from '../../src/integrity/clock-rules';

export const CHEATS_DIR = join(ROOT, 'test/fixtures/cheats');

export interface CheatEntry {
  fixture: string;
  kind: 'static' | 'dynamic';
  rule: string;
  cheat: string;
}

export function cheatCatalog(): { cheats: CheatEntry[]; controls: Omit<CheatEntry, 'rule'>[] } {
  return JSON.parse(readFileSync(join(CHEATS_DIR, 'catalog.json'), 'utf8'));
}

const scriptTask = taskSchema.parse({
  id: 'cheat',
  description: 'd',
  workspace_template: 'w',
  fnames: ['train.py'],
  entry_fname: 'train.py',
  timeout_s: 60,
  metric_parser: 'speedrun',
  selection_metric: 'train_time',
  metrics_at_most: { val_loss: 3.28 },
});

/**
 * Runs a fixture script in `dir` (own store and data files per node id) and judges what the harness
 * saw. The caller picks the sandbox (SPEEDRUNNER_SANDBOX) and scratch dir (SPEEDRUNNER_SCRATCH).
 */
export async function runScriptFixture(
  dir: string,
  fixture: string,
  nodeId: number,
): Promise<{ outcome: string; verdict: IntegrityVerdict & { clock?: ClockEvidence } }> {
  const store = new ArtifactStore(join(dir, 'store'));
  const data = join(dir, `data-${nodeId}`);
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'train_0.bin'), 'train tokens');
  writeFileSync(join(data, 'val_0.bin'), 'val tokens');
  const snapshot = await store.putSnapshot({ 'train.py': readFileSync(join(CHEATS_DIR, fixture), 'utf8') });
  const exec = await executeVersion(
    store,
    {
      runId: 'cheats',
      nodeId,
      snapshot,
      task: scriptTask,
      data: { train_files: join(data, 'train_*.bin'), val_files: join(data, 'val_*.bin'), val_tokens: 1 },
    },
    [],
  );
  const log = await StoredLog.read(store, exec.logRef);
  const verdict = checkExecution(scriptTask, {
    log,
    wallMs: exec.wallMs,
    clock: exec.clock,
    dataChanged: exec.dataChanged,
    completed: exec.outcome === 'ok',
  });
  return { outcome: exec.outcome, verdict };
}

/** The static verdict on a fixture patch against the nanogpt_baseline task's starting code. */
export function checkPatchFixture(fixture: string, valTokens = 10_485_760): IntegrityVerdict {
  return checkPatchForTask(loadTask('nanogpt_baseline'), readFileSync(join(CHEATS_DIR, fixture), 'utf8'), valTokens);
}
