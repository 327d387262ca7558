/** A log as its readers take it: a string, or its lines one by one (e.g. StoredLog.lines()). */
export type LogText = string | Iterable<string>;

/** The lines of a log, one at a time: a long log is never split into one array of all its lines. */
export function* linesOf(log: LogText): Generator<string> {
  if (typeof log !== 'string') return yield* log;
  let from = 0;
  for (let nl = log.indexOf('\n'); nl !== -1; nl = log.indexOf('\n', from)) {
    yield log.slice(from, nl);
    from = nl + 1;
  }
  yield log.slice(from);
}
