// 1. Orchestration overhead per iteration: one run of the sleep task, iteration after iteration; the
// gap from one execution's end to the next one's start, less the scripted model's latency, beside the
// same iterations done by the naive in-process loop. Plus workflow history events and bytes per iteration.
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPython } from '../src/paths';
import { startRun } from '../temporal/client/run-client';
import {
  historySize,
  readSpans,
  runSpans,
  sleepRunConfig,
  startCluster,
  startSleepModel,
  startWorker,
} from './lib/cluster';
import { gapOverheads } from './lib/gaps';
import { historyBreakdown } from './lib/history-breakdown';
import { naiveRun } from './lib/naive-loop';
import { mean, median, p95, round } from './lib/stats';

// gpu_sandbox: the GPU worker's --sandbox (auto isolates each execution with namespaces where it can).
export const defaults = { iterations: 200, latency_ms: 100, sleep_s: 0.05, gpu_sandbox: 'auto' };
export const quick = { iterations: 10, latency_ms: 100, sleep_s: 0.05, gpu_sandbox: 'auto' };

const summarize = (v: number[]) => ({
  median_ms: round(median(v)),
  p95_ms: round(p95(v)),
  mean_ms: round(mean(v)),
  samples: v.length,
});

export async function overhead(o: typeof defaults) {
  const c = await startCluster('overhead');
  try {
    const model = await startSleepModel(o.latency_ms);
    const control = await startWorker(c, 'control');
    const gpu = await startWorker(c, 'gpu', ['--sandbox', o.gpu_sandbox]);
    const config = sleepRunConfig(model, [
      `n_iterations=${o.iterations}`,
      `science_runner.max_n_nodes=${o.iterations + 10}`,
      'execute_root=true',
      `task.env.SLEEP_S=${o.sleep_s}`,
    ]);
    const started = Date.now();
    const handle = await startRun(c.client, config);
    const rss = setInterval(() => (control.sampleRss(), gpu.sampleRss()), 1000);
    const result = await handle.result();
    clearInterval(rss);
    const wallS = (Date.now() - started) / 1000;
    const spans = await runSpans(config, handle.workflowId);
    const ours = gapOverheads(spans, model.arrivals, o.latency_ms);
    const history = await historySize(c.client, handle.workflowId);
    const breakdown = await historyBreakdown(c.client, handle.workflowId);
    const scriptMs = median(spans.map((s) => (s.end ?? s.start) - s.start));
    await model.close();

    // The same iterations in the naive loop, against a fresh scripted model with the same latency.
    const naiveModel = await startSleepModel(o.latency_ms);
    const naiveSpans = join(c.home, 'naive-spans.txt');
    writeFileSync(naiveSpans, '');
    const naiveStarted = Date.now();
    await naiveRun({
      modelUrl: naiveModel.url,
      dir: join(c.home, 'naive'),
      iterations: o.iterations,
      sleepS: o.sleep_s,
      spansFile: naiveSpans,
      tag: 'naive',
      executeRoot: true,
    });
    const naiveWallS = (Date.now() - naiveStarted) / 1000;
    const naive = gapOverheads(readSpans(readFileSync(naiveSpans, 'utf8')), naiveModel.arrivals, o.latency_ms);
    await naiveModel.close();

    // What starting and ending a Python interpreter costs here: part of every gap, in both loops.
    const py: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      await execa(defaultPython(), ['-c', 'pass']);
      py.push(Date.now() - t);
    }
    const iterations = o.iterations + 1; // the root's execution counts as one
    return {
      params: o,
      run_status: 'COMPLETED',
      executions: spans.length,
      nodes: (result as { nodes?: number }).nodes,
      llm_calls_per_iteration: round(mean(ours.llmCallsPerGap), 2),
      orchestrator: { ...summarize(ours.overheadsMs), wall_s: round(wallS) },
      naive_loop: { ...summarize(naive.overheadsMs), wall_s: round(naiveWallS) },
      python_start_exit_ms: round(median(py)),
      history: {
        events: history.events,
        bytes: history.bytes,
        executions_continued_as_new: history.executions,
        events_per_iteration: round(history.events / iterations),
        bytes_per_iteration: Math.round(history.bytes / iterations),
        largest_event_bytes: history.largestEventBytes,
        largest_event_type: history.largestEventType,
      },
      // Per activity type and for workflow tasks: median wait in the task queue and median run time.
      breakdown,
      // The execute activity's run beyond the script's own time: store → workspace, sandbox, launcher, log upload.
      execute_wrapper_ms_median: round((breakdown['activity execute']?.run_ms_median ?? NaN) - scriptMs),
      worker_peak_rss_mib: { control: control.peakRssMiB, gpu: gpu.peakRssMiB },
    };
  } finally {
    await c.stop();
  }
}
