import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { ROOT } from '../../src/paths';
import { workflowBundlePath } from '../../temporal/workers/bundle';
import { dataConverter } from '../../temporal/client/payload-codec';

// Runs recorded under earlier workflow code must replay on the current code: a change that would
// break runs in flight fails here (it then needs `patched()` versioning, not a silent edit).
const DIR = join(ROOT, 'test', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('recorded histories replay on the current workflow code', () => {
  it('has histories to replay', () => expect(files.length).toBeGreaterThan(0));

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundlePath() }, dataConverter }, history, file);
  });
});
