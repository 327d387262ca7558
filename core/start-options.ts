// What every run is started with, by the CLI (`startRun`) or by a sweep (as its child): search
// attributes, memo and summary, so `ls`, `status` and the UI treat them alike. Workflow-safe (no
// Node APIs): the sweep workflow imports it.
import type { SearchAttributePair } from '@temporalio/common';
import type { RunConfig } from '../src/config/schema';
import { SA } from './search-attributes';

export function runStartOptions(
  config: RunConfig,
  origin: { cell?: string; forkedFrom?: { runId: string; nodeId: number } } = {},
) {
  const searchAttributes: SearchAttributePair[] = [
    { key: SA.Task, value: config.task.id },
    { key: SA.Model, value: config.model.id },
    { key: SA.ScienceRunner, value: config.science_runner.id },
    { key: SA.HintLevel, value: config.hint_level },
    { key: SA.Seed, value: config.seed },
    { key: SA.Phase, value: 'starting' },
    { key: SA.Iteration, value: 0 },
    ...(config.sweep_id ? [{ key: SA.SweepId, value: config.sweep_id }] : []),
  ];
  const { cell, forkedFrom } = origin;
  return {
    typedSearchAttributes: searchAttributes,
    // Shown by the UI without a worker; `status` reads the store path from it when workers are gone.
    memo: {
      store: config.store,
      task: config.task.id,
      model: config.model.id,
      science_runner: config.science_runner.id,
      n_iterations: config.n_iterations,
      ...(config.sweep_id ? { sweep: config.sweep_id, cell } : {}),
      ...(forkedFrom ? { forked_from: `${forkedFrom.runId}#v_${forkedFrom.nodeId}` } : {}),
    },
    staticSummary:
      `${config.task.id} · ${config.model.id} · ${config.science_runner.id} · ${config.n_iterations} iterations` +
      (config.sweep_id ? ` · sweep ${config.sweep_id} cell ${cell}` : '') +
      (forkedFrom ? ` · forked from ${forkedFrom.runId} v_${forkedFrom.nodeId}` : ''),
  };
}
