// A sweep file: a matrix of run settings, shared overrides and a concurrency limit. Pure functions
// (parse, expand, name), so they are unit-tested without Temporal or a config tree.
import { basename } from 'node:path';
import { z } from 'zod';
import { ConfigError, readYamlFile } from '../config/load';
import { canonicalJson, sha256 } from '../store/hash';

/** The matrix's axes, in the order cells are enumerated (the last varies fastest) and named. */
export const AXES = ['task', 'model', 'science_runner', 'hint_level', 'seed'] as const;
export type Axis = (typeof AXES)[number];

const scalar = z.union([z.string().min(1), z.number()]);
const axis = z.union([scalar, z.array(scalar).min(1)]);

export const sweepSpecSchema = z
  .object({
    /** The sweep's id; by default `sweep-<file name>-<hash of the file's content>`. */
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - (no /)')
      .optional(),
    matrix: z
      .object(Object.fromEntries(AXES.map((a) => [a, axis.optional()])) as Record<Axis, z.ZodOptional<typeof axis>>)
      .strict(),
    /** Applied to every cell, before the matrix's values: `key=value` strings or a (nested) mapping. */
    overrides: z.union([z.array(z.string()), z.record(z.string(), z.unknown())]).default([]),
    /** Child runs at once. */
    concurrency: z.number().int().min(1).max(1000).default(4),
    /** Continue-as-new after this many started cells (also when Temporal suggests it). */
    continue_as_new_every: z.number().int().min(1).default(200),
  })
  .strict();
export type SweepSpec = z.infer<typeof sweepSpecSchema>;

/** One point of the matrix: the overrides that make its run config. */
export interface MatrixCell {
  values: Partial<Record<Axis, string | number>>;
  overrides: string[];
}

export function parseSweepSpec(value: unknown, what = 'sweep file'): SweepSpec {
  const r = sweepSpecSchema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
  throw new ConfigError(
    `invalid ${what}:\n  - ${lines.join('\n  - ')}\n  (keys: id, matrix {${AXES.join(', ')}}, overrides, concurrency, continue_as_new_every)`,
  );
}

export function loadSweepFile(file: string): { spec: SweepSpec; id: string } {
  const raw = readYamlFile(file);
  const spec = parseSweepSpec(raw, `sweep file ${file}`);
  const stem = basename(file)
    .replace(/\.ya?ml$/, '')
    .replace(/[^A-Za-z0-9_.-]+/g, '-');
  return { spec, id: spec.id ?? `sweep-${stem}-${sha256(canonicalJson(raw)).slice(0, 8)}` };
}

/** A mapping of overrides as `key=value` strings (nested mappings become dotted keys; lists stay whole). */
export function overrideStrings(o: SweepSpec['overrides']): string[] {
  if (Array.isArray(o)) return o;
  const out: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v))
      for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    else out.push(`${prefix}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  };
  walk('', o);
  return out;
}

/** Every combination of the matrix's axes (an axis left out keeps the config's default). */
export function expandMatrix(spec: SweepSpec): MatrixCell[] {
  const shared = overrideStrings(spec.overrides);
  let cells: Partial<Record<Axis, string | number>>[] = [{}];
  for (const a of AXES) {
    const given = spec.matrix[a];
    if (given === undefined) continue;
    const values = Array.isArray(given) ? given : [given];
    cells = cells.flatMap((c) => values.map((v) => ({ ...c, [a]: v })));
  }
  // Matrix values come last, so they win over a shared override of the same key.
  return cells.map((values) => ({
    values,
    overrides: [...shared, ...AXES.filter((a) => a in values).map((a) => `${a}=${values[a]}`)],
  }));
}

/** A cell's name, from its resolved settings: `<task>.<model>.<runner>.h<hint>.s<seed>`, safe in ids and paths. */
export function cellName(c: {
  task: string;
  model: string;
  science_runner: string;
  hint_level: string;
  seed: number;
}): string {
  const safe = (s: string) => s.replace(/\+/g, '_').replace(/[^A-Za-z0-9_-]+/g, '-');
  return `${safe(c.task)}.${safe(c.model)}.${safe(c.science_runner)}.h${safe(c.hint_level)}.s${c.seed}`;
}
