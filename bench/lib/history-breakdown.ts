// Where an iteration's time goes, read from the workflow's own history: per activity type the wait in
// the task queue (scheduled → started) and the run (started → closed); for workflow tasks the same.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { workflowChain } from './cluster';
import { median, round } from './stats';

const { temporal } = proto;
const E = temporal.api.enums.v1.EventType;

type Ts = { seconds?: unknown; nanos?: number | null } | null | undefined;
const ms = (t: Ts) => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);

interface Task {
  type: string;
  scheduled: number;
  started?: number;
  closed?: number;
}

export interface Breakdown {
  [type: string]: { count: number; queue_wait_ms_median: number; run_ms_median: number };
}

export async function historyBreakdown(client: Client, workflowId: string): Promise<Breakdown> {
  const tasks = new Map<string, Task>();
  for (const runId of await workflowChain(client, workflowId)) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    for (const e of history.events ?? []) {
      const at = ms(e.eventTime as Ts);
      const id = `${runId}:${e.eventId}`;
      const ref = (scheduledEventId: unknown) => tasks.get(`${runId}:${scheduledEventId}`);
      switch (e.eventType) {
        case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
          tasks.set(id, {
            type: `activity ${e.activityTaskScheduledEventAttributes?.activityType?.name}`,
            scheduled: at,
          });
          break;
        case E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
          tasks.set(id, { type: 'workflow task', scheduled: at });
          break;
        case E.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
          const t = ref(e.activityTaskStartedEventAttributes?.scheduledEventId);
          if (t) t.started = at;
          break;
        }
        case E.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
          const t = ref(e.workflowTaskStartedEventAttributes?.scheduledEventId);
          if (t) t.started = at;
          break;
        }
        case E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        case E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        case E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
          const a =
            e.activityTaskCompletedEventAttributes ??
            e.activityTaskFailedEventAttributes ??
            e.activityTaskTimedOutEventAttributes;
          const t = ref(a?.scheduledEventId);
          if (t) t.closed = at;
          break;
        }
        case E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        case E.EVENT_TYPE_WORKFLOW_TASK_FAILED: {
          const a = e.workflowTaskCompletedEventAttributes ?? e.workflowTaskFailedEventAttributes;
          const t = ref(a?.scheduledEventId);
          if (t) t.closed = at;
          break;
        }
      }
    }
  }
  const byType = new Map<string, Task[]>();
  for (const t of tasks.values()) byType.set(t.type, [...(byType.get(t.type) ?? []), t]);
  const out: Breakdown = {};
  for (const [type, list] of byType) {
    const waits = list.filter((t) => t.started !== undefined).map((t) => t.started! - t.scheduled);
    const runs = list
      .filter((t) => t.started !== undefined && t.closed !== undefined)
      .map((t) => t.closed! - t.started!);
    out[type] = { count: list.length, queue_wait_ms_median: round(median(waits)), run_ms_median: round(median(runs)) };
  }
  return out;
}
