import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes of runs, registered on the server at start (`speedrunner server start`),
// so operators can filter the Temporal UI's workflow list, e.g. `Task="collatz" AND Phase="executing"`.
export const SA = {
  Task: defineSearchAttributeKey('Task', SearchAttributeType.KEYWORD),
  Model: defineSearchAttributeKey('Model', SearchAttributeType.KEYWORD),
  ScienceRunner: defineSearchAttributeKey('ScienceRunner', SearchAttributeType.KEYWORD),
  HintLevel: defineSearchAttributeKey('HintLevel', SearchAttributeType.KEYWORD),
  Seed: defineSearchAttributeKey('Seed', SearchAttributeType.INT),
  SweepId: defineSearchAttributeKey('SweepId', SearchAttributeType.KEYWORD),
  BestMetric: defineSearchAttributeKey('BestMetric', SearchAttributeType.DOUBLE),
  Iteration: defineSearchAttributeKey('Iteration', SearchAttributeType.INT),
  Phase: defineSearchAttributeKey('Phase', SearchAttributeType.KEYWORD),
};

/** `--search-attribute` arguments for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  const kind: Record<string, string> = {
    [SearchAttributeType.KEYWORD]: 'Keyword',
    [SearchAttributeType.INT]: 'Int',
    [SearchAttributeType.DOUBLE]: 'Double',
  };
  return Object.values(SA).flatMap((k) => ['--search-attribute', `${k.name}=${kind[k.type]}`]);
}

/**
 * Task queues: `<base>` for the control worker, `<base>-gpu` for GPU workers. The base is `speedrunner`
 * unless SPEEDRUNNER_TASK_QUEUE names another (separate fleets, or isolated test runs, on one cluster).
 */
export const gpuQueue = (base: string) => `${base}-gpu`;
