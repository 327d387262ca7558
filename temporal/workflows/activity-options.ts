// The one place activity timeouts and retry policies are set, per kind of work.
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import type { RunConfig } from '../../src/config/schema';
import { gpuQueue } from '../../core/search-attributes';

/**
 * LLM calls, edits, analysis and records on the control queue. This policy is the only retry layer
 * of a model call (the SDKs run with maxRetries: 0), so a failing call is sent at most maximumAttempts
 * times: 429/5xx/timeouts retry with this backoff, or after the provider's Retry-After when it sent one
 * (the failure's nextRetryDelay, src/llm/llm-errors.ts); 400/401/403/404/422 are NonRetryableLlmError.
 */
export const llmActivityOptions = (config: RunConfig): ActivityOptions => ({
  taskQueue: config.task_queue,
  startToCloseTimeout: `${config.timeouts.llm_call_s} s`,
  heartbeatTimeout: `${config.timeouts.llm_heartbeat_s} s`,
  retry: {
    initialInterval: '1 s',
    backoffCoefficient: 2,
    maximumInterval: '1 min',
    maximumAttempts: 8,
    nonRetryableErrorTypes: ['NonRetryableLlmError', 'TaskError'],
  },
});

/** Executions on the GPU queue: long, heartbeating, retried elsewhere when a worker dies. */
export const executionActivityOptions = (config: RunConfig): ActivityOptions => ({
  taskQueue: gpuQueue(config.task_queue),
  startToCloseTimeout: `${config.task.timeout_s + 600} s`,
  heartbeatTimeout: `${config.timeouts.execution_heartbeat_s} s`,
  retry: {
    initialInterval: '2 s',
    backoffCoefficient: 2,
    maximumInterval: '1 min',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['InsufficientGpus', 'TaskEnvironmentUnavailable'],
  },
  // The workflow learns an execution was cancelled only once its process group is dead.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** A sweep's bookkeeping: short reads of the store. */
export const sweepActivityOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '1 min',
  retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s', maximumAttempts: 5 },
});
