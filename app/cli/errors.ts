/** The innermost message of a Temporal failure chain (workflow → activity/update → application failure). */
export function rootCause(err: Error): string {
  let cur: Error = err;
  while (cur.cause instanceof Error) cur = cur.cause;
  return cur.message;
}
