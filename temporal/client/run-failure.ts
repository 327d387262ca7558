// Why a run ended without completing: the failure its close event carries (the workflow's error, an
// activity's innermost cause, a termination's reason), which describe() and the run's snapshot lack.
import type { Client } from '@temporalio/client';

const UNSUCCESSFUL = new Set(['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED']);

/** The innermost message of an error chain (workflow → activity → application failure). */
function innermost(err: Error): string {
  let cur: Error = err;
  while (cur.cause instanceof Error && cur.cause.message) cur = cur.cause;
  return cur.message;
}

/** Undefined for a run that is running or completed; else what ended it, in one line. */
export async function runFailure(client: Client, runId: string, status: string): Promise<string | undefined> {
  if (!UNSUCCESSFUL.has(status)) return undefined;
  try {
    await client.workflow.getHandle(runId).result(); // a closed run answers from its close event at once
    return undefined;
  } catch (err) {
    const cause = innermost(err as Error).split('\n')[0];
    if (status === 'TERMINATED')
      return `terminated${cause && cause !== 'Workflow execution terminated' ? `: ${cause}` : ''}`;
    if (status === 'TIMED_OUT') return 'timed out (the workflow execution timeout)';
    if (status === 'CANCELLED') return 'cancelled';
    return cause;
  }
}
