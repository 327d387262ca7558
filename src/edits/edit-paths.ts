/**
 * Which file an edit names, and whether it may be written. Lenient in reading the name (as aider's
 * find_filename/strip_filename are), strict in what it lets through: an absolute path, a `..`
 * segment or a file outside `fnames` is refused whatever the name resolves to.
 */

/**
 * The file name a line before a SEARCH marker gives, if it gives one: `path`, `` `path` ``,
 * `**path**`, `### path:`, `# File: path`, `Filename: path`, `**File:** path`, or a fence whose
 * info string is a path. Prose ("Now change the schedule:") gives none: a name must be one
 * token that looks like a file (an extension) or is an editable file's name.
 */
export function pathOnLine(line: string, fnames: string[]): string | undefined {
  let t = line.trim();
  const fence = /^(?:`{3,}|~{3,})\s*(.*)$/.exec(t);
  if (fence) t = fence[1];
  t = t.replace(/^(?:>\s*)+/, '');
  t = t.replace(/^(?:#+|[-*+]|\d+[.)])\s+/, '').replace(/^#+/, '');
  t = t.replace(/\*\*|__/g, '').trim();
  t = t.replace(/^(?:file\s*name|file|path)\s*[:=]\s*/i, '');
  t = t.replace(/^[`'"]+|[`'":,]+$/g, '').trim();
  if (fence)
    t = t
      .split(/\s+/)
      .filter((tok) => looksLikeFile(tok, fnames))
      .join(' ');
  return looksLikeFile(t, fnames) ? t : undefined;
}

function looksLikeFile(t: string, fnames: string[]): boolean {
  if (!t || /\s/.test(t)) return false;
  if (fnames.includes(t) || fnames.includes(normalize(t))) return true;
  return /^[\w.\-~/\\:]+$/.test(t) && /[\w-]\.[A-Za-z]\w*$/.test(t);
}

const normalize = (p: string) =>
  p
    .trim()
    .replace(/\\/g, '/')
    .replace(/\/{2,}/g, '/')
    .replace(/^(?:\.\/)+/, '');

export type ResolvedPath =
  /** `editable`: one of `fnames`; otherwise a relative path inside the version that is not one. */
  { path: string; editable: boolean } | { refused: string };

/**
 * The editable file a named path means. Beyond the exact name: `./x.py`, a directory prefix such as
 * `v_3/x.py` or `workspace/x.py` (the model naming the version's folder), a bare basename for
 * `pkg/x.py`, and a near miss such as `train_gpt.py` for `train_gpt2.py` (aider's
 * difflib close match, cutoff 0.8), each only when exactly one editable file fits. `creating`
 * (an empty SEARCH) turns off the basename and near-miss guesses, so that a new file is not taken
 * for an existing one.
 */
export function resolveEditPath(named: string, fnames: string[], creating = false): ResolvedPath {
  const only = `only ${fnames.join(', ')} may be edited`;
  const p = normalize(named);
  if (/^(?:\/|~|[A-Za-z]:\/)/.test(p)) return { refused: `edit to ${named} refused: an absolute path; ${only}` };
  if (p.split('/').includes('..')) return { refused: `edit to ${named} refused: a path outside the version; ${only}` };
  if (p === '' || p === '.') return { refused: `edit to ${JSON.stringify(named)} refused: no file name; ${only}` };
  if (fnames.includes(p)) return { path: p, editable: true };
  const one = (hits: string[]) => (hits.length === 1 ? hits[0] : undefined);
  const base = (f: string) => f.slice(f.lastIndexOf('/') + 1);
  const guess =
    one(fnames.filter((f) => p.endsWith(`/${f}`))) ??
    (creating ? undefined : one(fnames.filter((f) => base(f) === base(p)))) ??
    (creating ? undefined : one(fnames.filter((f) => similarity(f, p) >= 0.8)));
  return guess ? { path: guess, editable: true } : { path: p, editable: false };
}

/** 1 − edit distance / longer length. */
function similarity(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return 1 - prev[b.length] / Math.max(a.length, b.length, 1);
}
