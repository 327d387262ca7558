// The human record-to-record changes the integrity rules must let through: the acceptance set for
// "no honest change is excluded" (tests and bench/integrity.ts).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FileChange } from './flags';
import { applyToFiles, PatchError } from './patch';

export interface HumanChange {
  /** e.g. `record 4 → 5` or `2024-10-10_Muon → 2024-10-14_ModernArch`. */
  name: string;
  change: FileChange;
  /** `diff`: the imported level_0 diff hint applied to record R; `templates`: record R → R+1 scripts. */
  source: 'diff' | 'templates';
}

const ENTRY = 'train_gpt2.py';

/**
 * The 19 human R → R+1 changes of a facebookresearch/llm-speedrunner checkout (records 1-20 but 6,
 * whose diff is empty: 6 → 7 is a PyTorch upgrade). Each is the record's `diff` hint applied to record
 * R's script; where the hint does not apply exactly (it was cut against the upstream scripts, before
 * the reference's environment-variable edits), it is record R's script against record R+1's, the
 * same human change as the reference's own templates hold it.
 */
export function referenceHumanChanges(checkout: string): HumanChange[] {
  const templates = join(checkout, 'workspace_templates', 'nanogpt_speedrun');
  const hints = join(checkout, 'data', 'nanogpt_speedrun_knowledge_in_levels');
  if (!existsSync(templates) || !existsSync(hints))
    throw new Error(`${checkout} is not an llm-speedrunner checkout (no ${templates} or ${hints})`);
  const out: HumanChange[] = [];
  for (let r = 1; r <= 20; r++) {
    const diffFile = join(hints, `record_${r}`, 'level_0_diff.txt');
    const diff = existsSync(diffFile) ? readFileSync(diffFile, 'utf8') : '';
    if (!diff.trim()) continue;
    const before = readFileSync(join(templates, `record_${r}`, ENTRY), 'utf8');
    const name = `record ${r} → ${r + 1}`;
    try {
      out.push({ name, change: applyToFiles({ [ENTRY]: before }, diff, ENTRY)[0], source: 'diff' });
    } catch (err) {
      if (!(err instanceof PatchError)) throw err;
      out.push({
        name,
        change: { path: ENTRY, before, after: readFileSync(join(templates, `record_${r + 1}`, ENTRY), 'utf8') },
        source: 'templates',
      });
    }
  }
  return out;
}

/** Consecutive record scripts in a fixture dir (one sub-dir per record, sorted by name, each with train_gpt2.py). */
export function fixtureHumanChanges(dir: string): HumanChange[] {
  const records = readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, ENTRY)))
    .sort();
  return records.slice(1).map((next, i) => ({
    name: `${records[i]} → ${next}`,
    change: {
      path: ENTRY,
      before: readFileSync(join(dir, records[i], ENTRY), 'utf8'),
      after: readFileSync(join(dir, next, ENTRY), 'utf8'),
    },
    source: 'templates' as const,
  }));
}
