import type { NodeRecord, RunView } from '../../core/types';
import { noValidVersion, shortReason } from '../../core/run-outcome';

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(5));

/**
 * One version on one line. `sameReasonAs` is an earlier version that failed for the same reason:
 * the line points at it instead of repeating the reason.
 */
export function nodeLine(n: NodeRecord, metric: string, sameReasonAs?: number): string {
  const m = n.metrics[metric];
  const value = m === undefined ? '' : ` ${metric}=${fmt(m)}`;
  const reason = sameReasonAs === undefined ? shortReason(n.reason ?? '') : `same reason as v_${sameReasonAs}`;
  const why =
    (n.reason && !n.valid ? ` — ${reason}` : '') +
    (n.violations?.length ? ` ⛔ excluded: ${n.violations.map((v) => v.rule).join(', ')}` : '') +
    (n.flags?.length ? ` ⚑ ${n.flags.length} warning(s): ${n.flags[0].slice(0, 80)}` : '');
  const retried = n.previous?.length ? ` (measured ${n.previous.length + 1}×)` : '';
  return `v_${n.id} ${n.stage}${n.parent === null ? '' : ` of v_${n.parent}`} [${n.status}]${value}${retried} ${JSON.stringify(n.plan.split('\n')[0].slice(0, 60))}${why}`;
}

/**
 * Remembers the first version that failed for each reason; `sameAs(n)` names it for a later one
 * (versions printed in any order: parallel ones finish out of order).
 */
export function reasonRepeats() {
  const firstWith = new Map<string, number>();
  return {
    sameAs(n: NodeRecord): number | undefined {
      if (n.valid || !n.reason) return undefined;
      const key = n.reason.split('\n')[0];
      const first = firstWith.get(key);
      if (first === undefined || first === n.id) {
        firstWith.set(key, n.id);
        return undefined;
      }
      return first;
    },
  };
}

/** The search tree as indented text, children in id order. */
export function renderTree(view: RunView): string {
  const repeats = reasonRepeats();
  const kids = new Map<number | null, NodeRecord[]>();
  for (const n of view.nodes) kids.set(n.parent, [...(kids.get(n.parent) ?? []), n]);
  const lines: string[] = [];
  const walk = (n: NodeRecord, prefix: string, last: boolean, top: boolean) => {
    const best = view.best?.id === n.id ? '  ★ best' : '';
    lines.push(
      `${top ? '' : prefix + (last ? '└─ ' : '├─ ')}${nodeLine(n, view.selection_metric, repeats.sameAs(n))}${best}`,
    );
    const children = kids.get(n.id) ?? [];
    children.forEach((c, i) => walk(c, top ? '' : prefix + (last ? '   ' : '│  '), i === children.length - 1, false));
  };
  for (const root of kids.get(null) ?? []) walk(root, '', true, true);
  return lines.join('\n');
}

/** The run in a few lines; given the nodes, a run with no valid version says why, and what to change. */
export function summaryLines(
  view: Omit<RunView, 'nodes'> & { nodes?: readonly NodeRecord[] },
  opts: { cpu?: boolean } = {},
): string[] {
  const lines = [
    `run ${view.runId}: task=${view.task} model=${view.model} science_runner=${view.science_runner}`,
    `phase=${view.phase} iteration ${view.iteration}/${view.n_iterations}`,
  ];
  if (view.best) {
    lines.push(
      `best: v_${view.best.id} ${view.selection_metric}=${fmt(view.best.metric)}${view.best.speedup !== undefined ? ` (speed-up ${view.best.speedup}x over v_0)` : ''}`,
    );
    lines.push(`best code: ${view.best.workspace}`);
  } else if (view.nodes) {
    lines.push(...noBestLines(view.nodes));
  }
  if (view.fsr !== undefined)
    lines.push(`FSR: ${view.fsr.toFixed(3)} (fraction of the human record's speed-up recovered)`);
  lines.push(
    `LLM: ${view.usage.calls} calls, ${view.usage.input_tokens} in / ${view.usage.output_tokens} out tokens, $${view.usage.cost_usd.toFixed(4)}`,
  );
  if (view.gpu_seconds !== undefined)
    lines.push(`executions: ${view.gpu_seconds} ${opts.cpu ? 'device-seconds (CPU)' : 'GPU-seconds'}`);
  if (view.stopped) lines.push(`stopped: ${view.stopped}`);
  if (view.forked_from) lines.push(`forked from ${view.forked_from.runId} v_${view.forked_from.nodeId}`);
  return lines;
}

/** `best: none (…)` and, when every version broke a bound, a hint naming the bound and the value nearest it. */
export function noBestLines(nodes: readonly NodeRecord[]): string[] {
  const none = noValidVersion(nodes);
  if (!none) return [];
  const most = none.commonCount < none.versions ? `; ${none.commonCount} of them` : '';
  const lines = [
    `best: none (all ${none.versions} version${none.versions === 1 ? '' : 's'} failed${most}: ${shortReason(none.commonReason)})`,
  ];
  for (const b of none.bounds) {
    const seen = b.best
      ? `best seen ${b.metric}=${Number(b.best.value.toPrecision(5))} at v_${b.best.id}`
      : `no version printed ${b.metric}`;
    const key = b.op === '<=' ? 'metrics_at_most' : 'metrics_at_least';
    lines.push(
      `hint: no version met ${b.metric} ${b.op} ${b.bound} (${b.versions} broke it; ${seen}). ` +
        `The bound may not fit this hardware or training length: train longer, or set task.${key}.${b.metric}=<value> for this run.`,
    );
  }
  return lines;
}

/** Rows as aligned columns, two spaces apart. */
export function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}
