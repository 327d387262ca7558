/**
 * Parser for NanoGPT speedrun training logs.
 *
 * The scripts print validation lines such as
 *   `step:125/5100 val_loss:4.1234 train_time:61234ms step_avg:489.9ms`
 * and training lines such as
 *   `step:10/5100 train_loss:5.12 train_time:1234ms step_avg:123.4ms`
 * Each log begins with a copy of the script's own source, whose f-strings contain the same
 * words (`print0(f"step:{step}/{n} val_loss:{v:.4f} ...")`); only lines that start with
 * `step:<digits>/<digits>` count, so the source copy never matches.
 */

import { linesOf, type LogText } from '../metrics/log-lines';

export interface ValidationRecord {
  step: number;
  totalSteps: number;
  /** NaN when the script printed `nan` (a diverged run): NaN fails every `<=` bound. */
  valLoss: number;
  trainTimeMs: number;
  /** Absent in early records, which did not print it. */
  stepAvgMs?: number;
}

export interface StepProgress {
  step: number;
  totalSteps: number;
}

export interface ParsedSpeedrunLog {
  validations: ValidationRecord[];
  /** The latest `step:N/M` line of either kind, for progress reports. */
  lastStep?: StepProgress;
}

// Anchored at the line start: indented source lines and f-string templates (`step:{step}`) fail it.
const STEP_PREFIX = /^step:(\d+)\/(\d+)(?=\s|$)/;
// `key:value` pairs after the prefix; values are numbers with an optional unit, or nan/inf.
const FIELD = /(?:^|\s)([A-Za-z_]+):(\S+)/g;

/** A printed number: `4.1234`, `61234ms`, `nan`, `inf`, `-inf`. Undefined when it is not one. */
function parseValue(raw: string, unit = ''): number | undefined {
  let text = raw.trim();
  if (unit && text.endsWith(unit)) text = text.slice(0, -unit.length);
  const lower = text.toLowerCase();
  if (lower === 'nan' || lower === '-nan') return NaN;
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) return undefined;
  return Number(text);
}

interface LineFields {
  step: number;
  totalSteps: number;
  fields: Map<string, string>;
}

function splitLine(line: string): LineFields | undefined {
  const clean = line.replace(/\r$/, '');
  const m = STEP_PREFIX.exec(clean);
  if (!m) return undefined;
  const fields = new Map<string, string>();
  for (const f of clean.slice(m[0].length).matchAll(FIELD)) fields.set(f[1], f[2]);
  return { step: Number(m[1]), totalSteps: Number(m[2]), fields };
}

/**
 * A validation record from one line, or undefined. A line needs both `val_loss` and a
 * `train_time` in ms: a line cut off mid-write (the last line of a live log) is not trusted.
 */
function validationFrom(parts: LineFields): ValidationRecord | undefined {
  const rawLoss = parts.fields.get('val_loss');
  const rawTime = parts.fields.get('train_time');
  if (rawLoss === undefined || rawTime === undefined) return undefined;
  const valLoss = parseValue(rawLoss);
  const isNanTime = /^[-+]?(nan|inf)$/i.test(rawTime);
  const trainTimeMs = rawTime.endsWith('ms') || isNanTime ? parseValue(rawTime, 'ms') : undefined;
  if (valLoss === undefined || trainTimeMs === undefined) return undefined;
  const record: ValidationRecord = { step: parts.step, totalSteps: parts.totalSteps, valLoss, trainTimeMs };
  const rawAvg = parts.fields.get('step_avg');
  const stepAvgMs = rawAvg === undefined ? undefined : parseValue(rawAvg, 'ms');
  if (stepAvgMs !== undefined) record.stepAvgMs = stepAvgMs;
  return record;
}

/** Every validation line in order, plus the latest step seen on any step line. */
export function parseSpeedrunLog(log: LogText): ParsedSpeedrunLog {
  const validations: ValidationRecord[] = [];
  let lastStep: StepProgress | undefined;
  for (const line of linesOf(log)) {
    const parts = splitLine(line);
    if (!parts) continue;
    lastStep = { step: parts.step, totalSteps: parts.totalSteps };
    const v = validationFrom(parts);
    if (v) validations.push(v);
  }
  return lastStep ? { validations, lastStep } : { validations };
}

/**
 * The metrics of a run, as task configs with `metric_parser: speedrun` name them, taken from
 * the LAST validation line (the final evaluation): `{ step, val_loss, train_time }` with
 * train_time in ms. Empty when the log has no validation line yet.
 */
export function speedrunMetrics(log: LogText): Record<string, number> {
  const { validations } = parseSpeedrunLog(log);
  const last = validations[validations.length - 1];
  if (!last) return {};
  return { step: last.step, val_loss: last.valLoss, train_time: last.trainTimeMs };
}

/**
 * What one line is, for the harness clock: a validation line (`val`, read as parseSpeedrunLog reads
 * it), another training-step line (`step`), or neither.
 */
export function speedrunLineKind(line: string): { kind: 'step' | 'val'; step: number } | undefined {
  const parts = splitLine(line);
  if (!parts) return undefined;
  return { kind: validationFrom(parts) ? 'val' : 'step', step: parts.step };
}

/** Progress from one line of a live log (for heartbeats); undefined for every other line. */
export function progressFromLine(line: string): StepProgress | undefined {
  const parts = splitLine(line);
  return parts ? { step: parts.step, totalSteps: parts.totalSteps } : undefined;
}
