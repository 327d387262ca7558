import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodePayload } from '../../temporal/client/payload-codec';

/** A training execution in flight, as its GPU worker last reported it (heartbeat details). */
export interface ExecutionInFlight {
  /** Set when the heartbeat names the version (or the caller could tell which one it is). */
  nodeId?: number;
  step?: number;
  totalSteps?: number;
  elapsed_ms?: number;
  devices?: string[];
  attempt: number;
  /** ISO time of the last heartbeat; absent before the first. */
  heartbeat_at?: string;
  /** Why the previous attempt failed (a dead worker, a timeout), when this is a retry. */
  last_failure?: string;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Reads one `execute` heartbeat's details; anything malformed is dropped rather than trusted. */
export function executionFromHeartbeat(
  details: unknown,
  attempt: number,
  heartbeatAt?: Date,
  lastFailure?: string,
): ExecutionInFlight {
  const d = (details && typeof details === 'object' ? details : {}) as Record<string, unknown>;
  const out: ExecutionInFlight = { attempt };
  const nodeId = num(d.nodeId);
  if (nodeId !== undefined) out.nodeId = nodeId;
  const step = num(d.step);
  const totalSteps = num(d.totalSteps);
  if (step !== undefined) out.step = step;
  if (totalSteps !== undefined && totalSteps > 0) out.totalSteps = totalSteps;
  const elapsed = num(d.elapsed_ms);
  if (elapsed !== undefined) out.elapsed_ms = elapsed;
  if (Array.isArray(d.devices)) out.devices = d.devices.map(String);
  if (heartbeatAt) out.heartbeat_at = heartbeatAt.toISOString();
  if (lastFailure) out.last_failure = lastFailure;
  return out;
}

const tsToDate = (ts?: { seconds?: unknown; nanos?: number | null } | null) =>
  ts?.seconds != null ? new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)) : undefined;

/** The run's `execute` activities in flight, from a describe() of its workflow (the server answers; no worker needed). */
export async function executionsInFlight(
  client: Client,
  desc: WorkflowExecutionDescription,
): Promise<ExecutionInFlight[]> {
  const out: ExecutionInFlight[] = [];
  for (const a of desc.raw.pendingActivities ?? []) {
    if (a.activityType?.name !== 'execute') continue;
    const payload = a.heartbeatDetails?.payloads?.[0];
    const details = payload ? await decodePayload(client, payload as Payload).catch(() => undefined) : undefined;
    out.push(
      executionFromHeartbeat(
        details,
        a.attempt ?? 1,
        tsToDate(a.lastHeartbeatTime),
        a.lastFailure?.message ?? undefined,
      ),
    );
  }
  return out;
}
