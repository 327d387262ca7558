// Time to start a 1,000-cell sweep: every cell's config resolved, validated and stored, the sweep
// started, and its progress query reporting all cells. Own dev server (temp home, free ports) and an
// in-process control worker; children are cheap (scripted model, one iteration, no root execution)
// and the sweep is terminated once measured. Prints JSON.
//   npx tsx bench/sweep-start.ts [cells]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { freePort, startDevServer, stopDevServer } from '../temporal/client/dev-server';
import { dataConverter } from '../temporal/client/payload-codec';

async function main() {
  const cells = Number(process.argv[2] ?? 1000);
  const home = mkdtempSync(join(tmpdir(), 'speedrunner-sweep-bench-'));
  const port = await freePort();
  Object.assign(process.env, {
    SPEEDRUNNER_HOME: home,
    SPEEDRUNNER_SERVER_PORT: String(port),
    SPEEDRUNNER_TASK_QUEUE: 'sweep-bench',
    SPEEDRUNNER_SCRATCH: join(home, 'scratch'),
  });
  // Imported after the environment is set: they read it.
  const { prepareSweep, readProgress, submitSweep } = await import('../temporal/client/sweep-submit');
  const { createControlWorker } = await import('../temporal/workers/control');
  await startDevServer({ home, port, uiPort: await freePort(), headless: true, retentionDays: 1 });
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const worker = await createControlWorker(await NativeConnection.connect({ address: `127.0.0.1:${port}` }), 'default');
  const running = worker.run();
  const client = new Client({
    connection: await Connection.connect({ address: `127.0.0.1:${port}` }),
    namespace: 'default',
    dataConverter,
  });

  const file = join(home, 'bench.yaml');
  const seeds = Array.from({ length: cells / 2 }, (_, i) => i);
  writeFileSync(
    file,
    JSON.stringify({
      id: 'bench',
      matrix: { task: 'collatz', model: 'scripted', science_runner: ['aide', 'bon'], seed: seeds },
      overrides: ['n_iterations=1', 'execute_root=false'],
      concurrency: 2,
    }),
  );

  try {
    const t0 = performance.now();
    const prepared = await prepareSweep(file);
    const tPrepared = performance.now();
    await submitSweep(client, prepared);
    const tSubmitted = performance.now();
    let seen = 0;
    while (seen < cells) {
      seen = await readProgress(client, prepared.sweepId, { limit: 0 }).then(
        (r) => r.progress.total,
        () => 0,
      );
      if (seen < cells) await new Promise((r) => setTimeout(r, 50));
    }
    const tVisible = performance.now();
    const s = (ms: number) => Math.round(ms) / 1000;
    console.log(
      JSON.stringify({
        cells: prepared.input.cells.length,
        resolve_validate_store_s: s(tPrepared - t0),
        submit_s: s(tSubmitted - tPrepared),
        progress_reports_all_s: s(tVisible - tSubmitted),
        total_s: s(tVisible - t0),
        workflow_input_bytes: JSON.stringify(prepared.input).length,
      }),
    );
    await client.workflow.getHandle(prepared.sweepId).terminate('benchmark done'); // its children go with it
  } finally {
    worker.shutdown();
    await running.catch(() => {});
    await stopDevServer(home);
    rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
