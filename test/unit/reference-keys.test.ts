import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import YAML from 'yaml';
import { ConfigError, listGroup, referenceNotes, resolveRunConfig } from '../../src/config/load';
import { runConfigSchema } from '../../src/config/schema';
import { ROOT } from '../../src/paths';

// docs/reference-keys.md is the table of every reference (llm-speedrunner Hydra) key and what it
// becomes here. This test reads that table and checks each row against the real resolver: a mapped
// key resolves to the stated value (and the notes name it), an ignored one resolves with its reason
// in the notes, a refused one is a ConfigError with the stated reason.

interface Row {
  reference: string;
  example: string;
  ours: string;
}

function tableRows(): Row[] {
  const doc = readFileSync(join(ROOT, 'docs', 'reference-keys.md'), 'utf8');
  const body = doc.slice(doc.indexOf('<!-- reference-keys:start -->'), doc.indexOf('<!-- reference-keys:end -->'));
  expect(body.length).toBeGreaterThan(0);
  return body
    .split('\n')
    .filter((line) => /^\| `[^`]+` \| `[^`]+` \| /.test(line))
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|'));
      return { reference: cells[0].slice(1, -1), example: cells[1].slice(1, -1), ours: cells[2] };
    });
}

const ROWS = tableRows();
const OUR_TOP_KEYS = Object.keys(runConfigSchema.shape);
const at = (obj: unknown, path: string) =>
  path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);

let home: string;
let saved: string | undefined;
beforeAll(() => {
  saved = process.env.SPEEDRUNNER_HOME;
  home = mkdtempSync(join(tmpdir(), 'sr-refkeys-'));
  process.env.SPEEDRUNNER_HOME = home;
});
afterAll(() => {
  if (saved === undefined) delete process.env.SPEEDRUNNER_HOME;
  else process.env.SPEEDRUNNER_HOME = saved;
  rmSync(home, { recursive: true, force: true });
});

describe('docs/reference-keys.md', () => {
  it('has a row for each kind: mapped keys, group values, ignored and refused keys', () => {
    expect(ROWS.length).toBeGreaterThan(80);
    for (const kind of [/^`/, /^ignored: /, /^refused: /]) expect(ROWS.some((r) => kind.test(r.ours))).toBe(true);
  });

  it.each(ROWS.map((r) => [r.example, r] as const))('%s', (_example, row) => {
    const overrides = row.example.split(' ');
    const run = () => resolveRunConfig(['model=scripted', ...overrides], {});
    const key = overrides[overrides.length - 1].split('=')[0];
    if (row.ours.startsWith('refused: ')) {
      const reason = row.ours.slice('refused: '.length);
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(reason);
      return;
    }
    const notes = referenceNotes(overrides);
    if (row.ours.startsWith('ignored: ')) {
      run(); // resolves
      expect(notes).toContain(`${key} (reference key) ignored: ${row.ours.slice('ignored: '.length)}`);
      return;
    }
    const mapped = /^`([^`]+)` = `(.+)`$/.exec(row.ours);
    expect(mapped, `row ${row.reference}: "${row.ours}" is neither mapped, ignored nor refused`).not.toBeNull();
    const [, path, value] = mapped!;
    expect(at(run(), path)).toEqual(JSON.parse(value));
    // config show names every reference spelling it rewrote
    if (!OUR_TOP_KEYS.includes(key.split('.')[0]))
      expect(notes.some((n) => n.startsWith(`${key} (reference key) → `))).toBe(true);
    if (row.reference.includes('=') && JSON.parse(value) !== row.example.split('=')[1]) {
      expect(notes).toContain(`${row.example} (reference name) → ${path.split('.')[0]}=${JSON.parse(value)}`);
    }
  });

  it('names every preset: the paper scaffolds carry their iteration counts, aide is the reference aide.yaml', () => {
    const n = (preset: string) => resolveRunConfig(['model=scripted', `science_runner=${preset}`], {}).n_iterations;
    expect([n('flat'), n('tree'), n('forest'), n('paper_aide'), n('multi_aide'), n('multi-aide')]).toEqual([
      1, 20, 20, 20, 20, 20,
    ]);
    expect(n('aide')).toBe(5); // config.yaml's default, as the reference's default.yaml
    expect(resolveRunConfig(['model=scripted', 'science_runner=tree', 'n_iterations=3'], {}).n_iterations).toBe(3);
    expect(resolveRunConfig(['model=scripted', 'science_runner=aide'], {}).science_runner).toMatchObject({
      n_initial_hypotheses: 5,
      max_bug_depth: 3,
    });
    expect(resolveRunConfig(['model=scripted', 'science_runner=paper_aide'], {}).science_runner).toMatchObject({
      n_initial_hypotheses: 3,
      max_bug_depth: 5,
    });
  });
});

// Every key of the reference's config/ tree has a row (directly, or through a `prefix.*` row, or a
// row for a key above it). Needs the checkout: SPEEDRUNNER_REFERENCE_CHECKOUT=/path/to/llm-speedrunner.
const CHECKOUT = process.env.SPEEDRUNNER_REFERENCE_CHECKOUT;
describe.skipIf(!CHECKOUT)(
  `every reference key is in the table (${CHECKOUT ?? 'skipped: set SPEEDRUNNER_REFERENCE_CHECKOUT to a checkout of facebookresearch/llm-speedrunner'})`,
  () => {
    const yamlFiles = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) =>
        statSync(join(dir, n)).isDirectory() ? yamlFiles(join(dir, n)) : n.endsWith('.yaml') ? [join(dir, n)] : [],
      );
    /** The leaf keys of a mapping, dotted (a mapping value is walked into: its keys are the leaves). */
    const dotted = (obj: unknown, prefix: string): string[] =>
      obj && typeof obj === 'object' && !Array.isArray(obj)
        ? Object.entries(obj).flatMap(([k, v]) =>
            v && typeof v === 'object' && !Array.isArray(v) ? dotted(v, `${prefix}${k}.`) : [`${prefix}${k}`],
          )
        : [];

    it('covers every key and every group value', () => {
      const configDir = join(CHECKOUT!, 'config');
      const documented = new Set(ROWS.map((r) => r.reference));
      const covered = (key: string) => {
        const parts = key.split('.');
        return parts.some(
          (_, i) =>
            documented.has(parts.slice(0, i + 1).join('.')) ||
            (i > 0 && documented.has(`${parts.slice(0, i).join('.')}.*`)),
        );
      };
      const missing: string[] = [];
      for (const file of yamlFiles(configDir)) {
        const rel = relative(configDir, file).split(sep).join('/');
        const text = readFileSync(file, 'utf8');
        const group = rel.includes('/') ? rel.split('/')[0] : '';
        const prefix = text.includes('@package _global_') || !group ? '' : `${group}.`;
        const { defaults: _d, _group_: _g, ...keys } = (YAML.parse(text) ?? {}) as Record<string, unknown>;
        for (const key of dotted(keys, prefix)) if (!covered(key)) missing.push(`${key} (${rel})`);
        if (group && group !== 'task' && group !== 'secrets') {
          const value = rel.slice(group.length + 1).replace(/\.yaml$/, '');
          const ours = new Set(listGroup(group as 'model' | 'science_runner').map((e) => e.id));
          const ok =
            documented.has(`${group}=${value}`) ||
            ours.has(value) ||
            (group === 'coder' && value === 'aider') ||
            (group === 'ideator' && ['base', 'dummy'].includes(value));
          if (!ok) missing.push(`${group}=${value} (${rel})`);
        }
      }
      expect(missing).toEqual([]);
    });
  },
);
