// 2. GPU-busy fraction: R runs on G simulated GPU slots (a GPU worker with --slots G), model latency L
// per call, execution time E. busy = Σ execution time ÷ (G × wall). Beside it, the reference
// harness's way: the same R searches run one after another, each strictly code → execute → wait.
//
// Runs are started directly with the client (startRun), R at once; `pipeline` sets the run config's
// `pipeline=true` (the control worker codes the next hypotheses while executions are in flight).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRun } from '../temporal/client/run-client';
import {
  readSpans,
  runSpans,
  sleepRunConfig,
  startCluster,
  startSleepModel,
  startWorker,
  type Span,
} from './lib/cluster';
import { naiveRun } from './lib/naive-loop';
import { round } from './lib/stats';

export const defaults = { gpus: 2, runs: 4, iterations: 2, latency_ms: 2000, exec_s: 2, pipeline: false, naive: true };
export const quick = { gpus: 2, runs: 2, iterations: 1, latency_ms: 500, exec_s: 0.5, pipeline: false, naive: true };

function busy(spans: Span[], gpus: number, wallMs: number) {
  const execMs = spans.reduce((s, x) => s + ((x.end ?? x.start) - x.start), 0);
  return {
    executions: spans.length,
    exec_s: round(execMs / 1000),
    wall_s: round(wallMs / 1000),
    busy_fraction: round(execMs / (gpus * wallMs), 3),
  };
}

export async function gpuBusy(o: typeof defaults) {
  const c = await startCluster('gpu-busy');
  try {
    const model = await startSleepModel(o.latency_ms);
    await startWorker(c, 'control');
    await startWorker(c, 'gpu', ['--slots', String(o.gpus)]);
    const config = sleepRunConfig(model, [
      `n_iterations=${o.iterations}`,
      'execute_root=true',
      `pipeline=${o.pipeline}`,
      `task.env.SLEEP_S=${o.exec_s}`,
    ]);
    const started = Date.now();
    const handles = await Promise.all(Array.from({ length: o.runs }, () => startRun(c.client, config)));
    await Promise.all(handles.map((h) => h.result()));
    const wallMs = Date.now() - started;
    const spans = (await Promise.all(handles.map((h) => runSpans(config, h.workflowId)))).flat();
    const ours = busy(spans, o.gpus, wallMs);
    const llmCalls = model.arrivals.length;
    await model.close();

    let naive: ReturnType<typeof busy> | undefined;
    if (o.naive) {
      const naiveModel = await startSleepModel(o.latency_ms);
      const naiveSpans = join(c.home, 'naive-spans.txt');
      writeFileSync(naiveSpans, '');
      const t = Date.now();
      for (let r = 0; r < o.runs; r++) {
        await naiveRun({
          modelUrl: naiveModel.url,
          dir: join(c.home, `naive-${r}`),
          iterations: o.iterations,
          sleepS: o.exec_s,
          spansFile: naiveSpans,
          tag: `naive${r}`,
          executeRoot: true,
        });
      }
      naive = busy(readSpans(readFileSync(naiveSpans, 'utf8')), o.gpus, Date.now() - t);
      await naiveModel.close();
    }
    return {
      params: o,
      mode: 'direct: R runs started with the client (startRun)',
      llm_calls: llmCalls,
      orchestrator: ours,
      naive_sequential: naive ?? null,
      // The most a sequential run (model calls, then its execution) lets R runs keep G slots busy.
      bound_busy_fraction: round(
        Math.min(
          1,
          (o.runs * o.exec_s) /
            (o.gpus * (o.exec_s + ((llmCalls / Math.max(1, ours.executions)) * o.latency_ms) / 1000)),
        ),
        3,
      ),
    };
  } finally {
    await c.stop();
  }
}
