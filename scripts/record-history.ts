// Saves a finished run's event history under test/histories/, where the replay test checks that the
// current workflow code still replays it. Record one whenever the workflow's shape changes on purpose.
//   npx tsx scripts/record-history.ts <workflowId> <name>
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ROOT } from '../src/paths';
import { connectClient } from '../temporal/client/connection';

const [workflowId, name] = process.argv.slice(2);
if (!workflowId || !name) {
  console.error('usage: npx tsx scripts/record-history.ts <workflowId> <name>');
  process.exit(2);
}
const client = await connectClient();
const history = await client.workflow.getHandle(workflowId).fetchHistory();
const out = join(ROOT, 'test', 'histories', `${name}.json.gz`);
writeFileSync(out, gzipSync(JSON.stringify(JSON.parse(historyToJSON(history)))));
console.log(`wrote ${out} (${history.events?.length} events)`);
process.exit(0);
