// 5. Recovery: SIGKILL the GPU worker while an execution runs and time how long until the execution
// runs again (its script starts anew) on a fresh GPU worker, for several heartbeat timeouts. The fresh
// worker is started (and its boot timed) once the first execution runs, before the kill: so the figure
// is what Temporal's detection and retry cost, not how long a Node process takes to boot here. With
// `standby=false` the fresh worker is started only after the kill (boot time then adds to recovery).
// The GPU workers run with `--sandbox off` so the script can note its start (and real pid) in a file
// outside its workspace the moment it starts; isolation plays no part in how a dead worker is noticed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRun } from '../temporal/client/run-client';
import { readSpans, sleep, sleepRunConfig, startCluster, startSleepModel, startWorker } from './lib/cluster';
import { round } from './lib/stats';

export const defaults = { heartbeats_s: '2,5,10', exec_s: 120, kill_after_s: 2, standby: true };
export const quick = { heartbeats_s: '2', exec_s: 60, kill_after_s: 1, standby: true };

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const killQuietly = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
};

export async function recovery(o: typeof defaults) {
  const c = await startCluster('recovery');
  const trials = [];
  try {
    const model = await startSleepModel(0);
    await startWorker(c, 'control');
    const spansFile = join(c.home, 'spans.txt');
    writeFileSync(spansFile, '');
    const spans = (tag: string) => readSpans(readFileSync(spansFile, 'utf8')).filter((s) => s.tag === tag);
    for (const hb of String(o.heartbeats_s).split(',').map(Number)) {
      const tag = `hb${hb}`;
      const gpu = await startWorker(c, 'gpu', ['--sandbox', 'off']);
      const handle = await startRun(
        c.client,
        sleepRunConfig(model, [
          'n_iterations=1',
          'execute_root=true',
          `timeouts.execution_heartbeat_s=${hb}`,
          `task.env.SLEEP_S=${o.exec_s}`,
          `task.env.BENCH_SPANS_FILE=${spansFile}`,
          `task.env.BENCH_TAG=${tag}`,
        ]),
      );
      const first = await waitFor('the execution to start', () => spans(tag)[0], 120_000);
      // The first worker has one slot and it is taken, so a standby worker cannot take this execution.
      let bootS = 0;
      const startFresh = async () => {
        const t = Date.now();
        const w = await startWorker(c, 'gpu', ['--sandbox', 'off']);
        bootS = (Date.now() - t) / 1000;
        return w;
      };
      let fresh = o.standby ? await startFresh() : undefined;
      await sleep(o.kill_after_s * 1000);
      const killedAt = Date.now();
      await gpu.stop('SIGKILL');
      killQuietly(first.pid); // the orphaned script would sleep on; the retry is what we time
      fresh ??= await startFresh();
      const again = await waitFor(
        'the execution to run again',
        () => spans(tag).find((s) => s.pid !== first.pid),
        300_000,
      );
      const desc = await handle.describe();
      const attempt = desc.raw.pendingActivities?.find((a) => a.activityType?.name === 'execute')?.attempt;
      trials.push({
        heartbeat_s: hb,
        recovery_s: round((again.start - killedAt) / 1000, 2),
        standby: o.standby,
        worker_boot_s: round(bootS, 2),
        execute_attempt: attempt ?? null,
      });
      await handle.terminate('benchmark trial over');
      killQuietly(again.pid);
      await fresh.stop('SIGKILL');
    }
    await model.close();
    return { params: o, trials };
  } finally {
    await c.stop();
  }
}
