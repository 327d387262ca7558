import { parseSpeedrunLog } from '../../src/speedrun/log-parse';
import type { StoredLog } from '../../src/metrics/stored-log';

/** One version's training curve, from the validation lines of its log (columns, for plotting). */
export interface TrainingCurve {
  step: number[];
  /** null where the script printed nan/inf (a diverged run): the plot leaves a gap. */
  val_loss: (number | null)[];
  /** Training time at that validation, in ms (the speedrun's clock, excluding validation). */
  train_time_ms: number[];
  total_steps: number;
  /** Validation lines in the log; more than the points kept when the curve was thinned. */
  validations: number;
}

/**
 * The curve of a stored log, read line by line (never the log as one string). Logs with many
 * validations are thinned to about `maxPoints`, evenly by index, always keeping the first and last
 * (the final evaluation). Undefined when the log has no validation line (not a speedrun script).
 */
export function trainingCurve(log: StoredLog, maxPoints = 300): TrainingCurve | undefined {
  const { validations } = parseSpeedrunLog(log.lines());
  if (!validations.length) return undefined;
  const keep = validations.length <= maxPoints ? validations : thin(validations, maxPoints);
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    step: keep.map((v) => v.step),
    val_loss: keep.map((v) => finite(v.valLoss)),
    train_time_ms: keep.map((v) => (Number.isFinite(v.trainTimeMs) ? v.trainTimeMs : 0)),
    total_steps: validations[validations.length - 1].totalSteps,
    validations: validations.length,
  };
}

function thin<T>(items: readonly T[], max: number): T[] {
  const out: T[] = [];
  const stride = (items.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(items[Math.round(i * stride)]);
  return out;
}
