// Reports are mailed around: whatever they show is scrubbed of credentials first. Keys never should
// reach a run's data, so this is a second line of defence, not the first.

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i;
/** Shapes of provider keys, caught even when the variable holding them is not in our environment. */
const KEY_SHAPES = [/\bsk-[A-Za-z0-9_-]{16,}/g, /\bAKIA[0-9A-Z]{16}\b/g, /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g];
export const REDACTED = '[redacted]';

/** Values of environment variables whose names say they hold a credential (short values are ignored). */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && value && value.length >= 8)
    .map(([, value]) => value!)
    .sort((a, b) => b.length - a.length); // longest first, so a key containing another is replaced whole
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
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactText(k, secrets), redactDeep(v, secrets)])) as T;
  }
  return value;
}
