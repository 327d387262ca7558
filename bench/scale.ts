// 4. Scale: many concurrent runs (scripted model, no latency, tiny executions) against one control
// worker, one GPU worker and one dev server: time to start them all, time until they complete,
// errors, workers' peak RSS. Each run is one iteration without a root execution (ideate, code,
// execute, analyze): it is the orchestrator's load that is measured, not the work.
import { startRun } from '../temporal/client/run-client';
import { sleepRunConfig, sleep, startCluster, startSleepModel, startWorker } from './lib/cluster';
import { round } from './lib/stats';

export const defaults = { runs: 1000, gpu_slots: 4, start_concurrency: 20, exec_s: 0, timeout_s: 300 };
export const quick = { runs: 30, gpu_slots: 4, start_concurrency: 10, exec_s: 0, timeout_s: 300 };

export async function scale(o: typeof defaults) {
  const c = await startCluster('scale');
  try {
    const model = await startSleepModel(0, o.runs + 100);
    const control = await startWorker(c, 'control');
    const gpu = await startWorker(c, 'gpu', ['--slots', String(o.gpu_slots)]);
    const sampler = setInterval(() => (control.sampleRss(), gpu.sampleRss()), 1000);
    const config = sleepRunConfig(model, ['n_iterations=1', 'execute_root=false', `task.env.SLEEP_S=${o.exec_s}`]);
    const started = Date.now();
    let next = 0;
    let startErrors = 0;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: o.start_concurrency }, async () => {
        while (next < o.runs) {
          const i = next++;
          try {
            ids.push((await startRun(c.client, config, `scale-${i}`)).workflowId);
          } catch {
            startErrors++;
          }
        }
      }),
    );
    const startS = (Date.now() - started) / 1000;
    // Completion from the server's visibility store; no long-poll per run.
    const deadline = started + o.timeout_s * 1000;
    let closed = 0;
    while (Date.now() < deadline) {
      closed = await c.client.workflow.count(`ExecutionStatus != 'Running'`).then((r) => r.count);
      if (closed >= ids.length) break;
      await sleep(2000);
    }
    const completeS = (Date.now() - started) / 1000;
    clearInterval(sampler);
    const completed = (await c.client.workflow.count(`ExecutionStatus = 'Completed'`)).count;
    const running = (await c.client.workflow.count(`ExecutionStatus = 'Running'`)).count;
    await model.close();
    return {
      params: o,
      start_s: round(startS),
      starts_per_s: round(ids.length / startS),
      start_errors: startErrors,
      complete_s: round(completeS),
      runs_per_s: round(completed / completeS, 2),
      completed,
      still_running_at_end: running,
      errors: ids.length - completed - running + startErrors,
      llm_calls: model.arrivals.length,
      peak_rss_mib: { control: control.peakRssMiB, gpu: gpu.peakRssMiB },
    };
  } finally {
    await c.stop();
  }
}
