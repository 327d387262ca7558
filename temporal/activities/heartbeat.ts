import type { Context } from '@temporalio/activity';

/** How often to heartbeat: three times per heartbeat timeout, so one lost beat is not a death. */
export function heartbeatEveryMs(ctx: Context): number {
  return Math.max(200, Math.min(5000, (ctx.info.heartbeatTimeoutMs ?? 10_000) / 3));
}
