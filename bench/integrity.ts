// Integrity rules against what they must let through and what they must catch:
//  - false-positive rate on the human record changes: the 19 imported R → R+1 diffs of a reference
//    checkout (SPEEDRUNNER_REFERENCE_CHECKOUT, else /work/ref/llm-speedrunner when present) and the
//    modded-nanogpt fixture records; beside it, how many the old keyword flags would have excluded;
//  - catch rate on the cheat fixtures (test/fixtures/cheats), each by its named rule, scripts run as
//    real child processes (sandbox off, so the data write happens and the fingerprint must see it).
// JSON on stdout, a short summary on stderr. Run: npx tsx bench/integrity.ts
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../src/paths';
import { fixtureHumanChanges, referenceHumanChanges, type HumanChange } from '../src/integrity/human-changes';
import { checkChanges } from '../src/integrity/static-rules';
import { cheatCatalog, checkPatchFixture, runScriptFixture } from './lib/cheat-fixtures';
import { machineInfo } from './lib/machine';

const VAL_TOKENS = 10_485_760;

function humanSet(changes: HumanChange[]) {
  const started = performance.now();
  const per = changes.map((c) => {
    const v = checkChanges([c.change], { valTokens: VAL_TOKENS });
    return {
      name: c.name,
      source: c.source,
      excluded: v.violations.length > 0,
      rules: v.violations.map((x) => x.rule),
      warnings: v.warnings.length,
    };
  });
  const ms = performance.now() - started;
  const excluded = per.filter((p) => p.excluded).length;
  return {
    changes: per.length,
    excluded,
    false_positive_rate: per.length ? excluded / per.length : null,
    /** The old rule: any keyword flag excluded the version. */
    excluded_by_keyword_flags: per.filter((p) => p.warnings > 0).length,
    ms_per_check: per.length ? Math.round((ms / per.length) * 10) / 10 : null,
    per_change: per,
  };
}

export async function integrityBench() {
  const checkout =
    process.env.SPEEDRUNNER_REFERENCE_CHECKOUT ??
    (existsSync('/work/ref/llm-speedrunner') ? '/work/ref/llm-speedrunner' : undefined);
  const reference = checkout
    ? humanSet(referenceHumanChanges(checkout))
    : { skipped: 'no reference checkout (set SPEEDRUNNER_REFERENCE_CHECKOUT)' };
  const fixtures = humanSet(fixtureHumanChanges(join(ROOT, 'test/fixtures/human-diffs/modded-nanogpt')));

  const dir = mkdtempSync(join(tmpdir(), 'sr-bench-integrity-'));
  const saved = { scratch: process.env.SPEEDRUNNER_SCRATCH, sandbox: process.env.SPEEDRUNNER_SANDBOX };
  process.env.SPEEDRUNNER_SCRATCH = join(dir, 'scratch');
  process.env.SPEEDRUNNER_SANDBOX = 'off';
  const cheats = [];
  try {
    const catalog = cheatCatalog();
    let id = 0;
    for (const c of catalog.cheats) {
      const v =
        c.kind === 'static'
          ? checkPatchFixture(c.fixture, VAL_TOKENS)
          : (await runScriptFixture(dir, c.fixture, id++)).verdict;
      const rules = v.violations.map((x) => x.rule);
      cheats.push({ fixture: c.fixture, kind: c.kind, expected_rule: c.rule, caught: rules.includes(c.rule), rules });
    }
    const controls = [];
    for (const c of catalog.controls)
      controls.push({
        fixture: c.fixture,
        rules: (await runScriptFixture(dir, c.fixture, id++)).verdict.violations.map((x) => x.rule),
      });
    const caught = cheats.filter((c) => c.caught).length;
    return {
      bench: 'integrity',
      at: new Date().toISOString(),
      machine: machineInfo(),
      human_changes: { reference, fixtures },
      cheats: {
        total: cheats.length,
        caught_by_named_rule: caught,
        catch_rate: caught / cheats.length,
        per_cheat: cheats,
      },
      controls,
    };
  } finally {
    if (saved.scratch === undefined) delete process.env.SPEEDRUNNER_SCRATCH;
    else process.env.SPEEDRUNNER_SCRATCH = saved.scratch;
    if (saved.sandbox === undefined) delete process.env.SPEEDRUNNER_SANDBOX;
    else process.env.SPEEDRUNNER_SANDBOX = saved.sandbox;
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await integrityBench();
  console.log(JSON.stringify(r, null, 2));
  const ref = r.human_changes.reference;
  const fp =
    'changes' in ref
      ? `${ref.excluded}/${ref.changes} reference human diffs excluded (keyword flags: ${ref.excluded_by_keyword_flags}/${ref.changes})`
      : ref.skipped;
  console.error(
    `${fp}; ${r.human_changes.fixtures.excluded}/${r.human_changes.fixtures.changes} fixture records; cheats caught ${r.cheats.caught_by_named_rule}/${r.cheats.total}`,
  );
}
