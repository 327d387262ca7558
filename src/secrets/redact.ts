// The one secret redactor: credentials the workers hold never reach a stored log, a prompt or a report.
// Keys never should reach agent code at all (its environment is built from nothing, see
// exec/execute-version.ts); this is the second wall, for code that found one anyway.
// (Private metrics are a different thing, hidden from prompts in agent/analysis.ts.)

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i;
/** Shapes of provider keys, caught even when the variable holding them is not in our environment. */
const KEY_SHAPES = [/\bsk-[A-Za-z0-9_-]{16,}/g, /\bAKIA[0-9A-Z]{16}\b/g, /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g];
export const REDACTED = '[redacted]';
/** Shorter values are too likely to be ordinary text (`true`, a port) to be cut wherever they appear. */
export const MIN_SECRET_LENGTH = 8;
/** Names of more variables whose values are secrets, comma- or space-separated. */
export const REDACT_LIST_VAR = 'SPEEDRUNNER_REDACT';

/**
 * Values of environment variables whose names say they hold a credential (`*_API_KEY`,
 * `TEMPORAL_API_KEY`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `*_TOKEN`, `*PASSWORD*`, …) and
 * of those `SPEEDRUNNER_REDACT` names; short values are ignored. Longest first, so a key containing
 * another is replaced whole.
 */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = new Set((env[REDACT_LIST_VAR] ?? '').split(/[\s,]+/).filter(Boolean));
  const values = Object.entries(env)
    .filter(
      ([name, value]) => (SECRET_NAME.test(name) || listed.has(name)) && value && value.length >= MIN_SECRET_LENGTH,
    )
    .map(([, value]) => value!);
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

export function redactText(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  for (const shape of KEY_SHAPES) out = out.replace(shape, REDACTED);
  return out;
}

/** Every string inside `value` (keys included) redacted; numbers and structure kept. */
export function redactDeep<T>(value: T, secrets: string[]): T {
  if (typeof value === 'string') return redactText(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [redactText(k, secrets), redactDeep(v, secrets)]),
    ) as T;
  }
  return value;
}
