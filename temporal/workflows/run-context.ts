// The activity proxies a run's workflow code calls, typed by the activities' factories.
import { proxyActivities } from '@temporalio/workflow';
import type { RunConfig } from '../../src/config/schema';
import type * as controlActivities from '../activities/control';
import type * as gpuActivities from '../activities/gpu';
import type { RunRef } from '../activities/run-context';
import { executionActivityOptions, llmActivityOptions } from './activity-options';

export type ControlActivities = typeof controlActivities;
export type { RunRef } from '../activities/run-context';

export const controlProxy = (config: RunConfig) => proxyActivities<ControlActivities>(llmActivityOptions(config));

/** The GPU proxy with the step said in words, as the UI shows it beside the activity. */
export const gpuProxy = (config: RunConfig, summary: string) =>
  proxyActivities<typeof gpuActivities>({ ...executionActivityOptions(config), summary });
