// Acceptance: the human record-to-record changes raise no excluding integrity verdict. Three
// consecutive modded-nanogpt records always; the 19 imported reference diffs when
// SPEEDRUNNER_REFERENCE_CHECKOUT names a facebookresearch/llm-speedrunner checkout.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { ROOT } from '../../src/paths';
import { fixtureHumanChanges, referenceHumanChanges, type HumanChange } from '../../src/integrity/human-changes';
import { checkChanges } from '../../src/integrity/static-rules';

const VAL_TOKENS = 10_485_760;
const excluding = (changes: HumanChange[]) =>
  changes
    .map((c) => ({ name: c.name, violations: checkChanges([c.change], { valTokens: VAL_TOKENS }).violations }))
    .filter((r) => r.violations.length > 0);

describe('human record changes are never excluded', () => {
  it('modded-nanogpt 2024-10-09 SOAP → 10-10 Muon → 10-14 ModernArch (fixtures)', () => {
    const changes = fixtureHumanChanges(join(ROOT, 'test/fixtures/human-diffs/modded-nanogpt'));
    expect(changes.map((c) => c.name)).toEqual([
      '2024-10-09_SOAP → 2024-10-10_Muon',
      '2024-10-10_Muon → 2024-10-14_ModernArch',
    ]);
    for (const c of changes) expect(c.change.after).not.toBe(c.change.before);
    expect(excluding(changes)).toEqual([]);
    // Muon → ModernArch rewrites the validation loss line (`val_loss += loss.detach()`): once a reason to
    // exclude, now a warning for review.
    expect(checkChanges([changes[1].change], { valTokens: VAL_TOKENS }).warnings).toEqual([
      'train_gpt2.py:447 (added) touches the validation loss: val_loss += loss.detach()',
      'train_gpt2.py:456 (removed) touches the validation loss: val_loss += loss',
    ]);
  });

  const checkout = process.env.SPEEDRUNNER_REFERENCE_CHECKOUT;
  it.skipIf(!checkout)(
    'the 19 imported R → R+1 diffs of the reference checkout (set SPEEDRUNNER_REFERENCE_CHECKOUT to run)',
    () => {
      const changes = referenceHumanChanges(checkout!);
      expect(changes).toHaveLength(19);
      expect(changes.map((c) => c.name)).not.toContain('record 6 → 7');
      expect(excluding(changes)).toEqual([]);
    },
  );
});
