// Which versions of a run count towards its FSR. Plain data only: workflow code imports this file.
import type { NodeRecord } from './types';

/**
 * The agent's own versions that finished `ok` and carry no flag. The root is left out: it is record R's
 * code, timed at t_R by definition rather than at its time on this hardware.
 */
export function scoredVersions(nodes: NodeRecord[]): NodeRecord[] {
  return nodes.filter((n) => n.stage !== 'root' && n.status === 'ok' && !n.flags?.length);
}

/** The metrics FSR reads from each version: val_loss, and the records' time metric as train_time. */
export function fsrMetrics(nodes: NodeRecord[], timeMetric: string) {
  return nodes.map((n) => ({ val_loss: n.metrics.val_loss, train_time: n.metrics[timeMetric] }));
}
