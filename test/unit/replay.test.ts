import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { ROOT } from '../../src/paths';
import { workflowBundlePath } from '../../temporal/workers/bundle';
import { dataConverter } from '../../temporal/client/payload-codec';

// Runs recorded under earlier workflow code must replay on the current code: a change that would
// break runs in flight fails here (it then needs `patched()`, or a new Worker Deployment Version).
// The histories are gzipped compact JSON: the workflow tier records them (SPEEDRUNNER_RECORD_HISTORIES=1
// npm run test:workflow), scripts/record-history.ts records a real run.
const DIR = join(ROOT, 'test', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json.gz'));

describe('recorded histories replay on the current workflow code', () => {
  it('has histories to replay', () => expect(files.length).toBeGreaterThan(0));

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(gunzipSync(readFileSync(join(DIR, file))).toString('utf8')));
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: await workflowBundlePath() }, dataConverter },
      history,
      file,
    );
  });
});
