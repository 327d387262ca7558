// Which workers poll a task queue. The server lists a poller for minutes after its worker is gone
// (the in-process workers of a foreground `run` that just exited, say): a poller of a process on
// this host that no longer exists does not count.
import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';

export interface PollerSeen {
  /** The SDK's default worker identity is `<pid>@<hostname>`. */
  identity?: string | null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** The pollers whose process may still be running: every one of another host, this host's only if its pid lives. */
export function livePollers<T extends PollerSeen>(
  pollers: readonly T[],
  host = hostname(),
  alive: (pid: number) => boolean = processAlive,
): T[] {
  return pollers.filter((p) => {
    const m = /^(\d+)@(.+)$/.exec(p.identity ?? '');
    return !m || m[2] !== host || alive(Number(m[1]));
  });
}

/** Task queue types of describeTaskQueue: workflow tasks (control workers), activity tasks (GPU workers poll only these). */
export const WORKFLOW_TASKS = 1;
export const ACTIVITY_TASKS = 2;

export async function hasLivePollers(
  client: Client,
  taskQueue: string,
  taskQueueType: 1 | 2 = WORKFLOW_TASKS,
): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType,
  });
  return livePollers(res.pollers ?? []).length > 0;
}
