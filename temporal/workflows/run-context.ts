// The activity proxies a run's workflow code calls, typed by the activities' factories.
import { proxyActivities } from '@temporalio/workflow';
import type { RunConfig } from '../../src/config/schema';
import type { createAgentActivities } from '../activities/agent';
import type { createControlActivities } from '../activities/control';
import type { createGpuActivities } from '../activities/gpu';
import type { createSweepActivities } from '../activities/sweep';
import { executionActivityOptions, llmActivityOptions } from './activity-options';

export type ControlActivities = ReturnType<typeof createControlActivities>;
export type GpuActivities = ReturnType<typeof createGpuActivities>;
export type AgentActivities = ReturnType<typeof createAgentActivities>;
export type SweepActivities = ReturnType<typeof createSweepActivities>;
export type { RunRef } from '../activities/run-context';

export const controlProxy = (config: RunConfig) => proxyActivities<ControlActivities>(llmActivityOptions(config));

/** The GPU proxy with the step said in words, as the UI shows it beside the activity. */
export const gpuProxy = (config: RunConfig, summary: string) =>
  proxyActivities<GpuActivities>({ ...executionActivityOptions(config), summary });
