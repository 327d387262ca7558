import type { NodeRecord, RunView } from '../../core/types';

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(5));

export function nodeLine(n: NodeRecord, metric: string): string {
  const m = n.metrics[metric];
  const value = m === undefined ? '' : ` ${metric}=${fmt(m)}`;
  const why =
    (n.reason && !n.valid ? ` — ${n.reason.slice(0, 100)}` : '') +
    (n.violations?.length ? ` ⛔ excluded: ${n.violations.map((v) => v.rule).join(', ')}` : '') +
    (n.flags?.length ? ` ⚑ ${n.flags.length} warning(s): ${n.flags[0].slice(0, 80)}` : '');
  const retried = n.previous?.length ? ` (measured ${n.previous.length + 1}×)` : '';
  return `v_${n.id} ${n.stage}${n.parent === null ? '' : ` of v_${n.parent}`} [${n.status}]${value}${retried} ${JSON.stringify(n.plan.split('\n')[0].slice(0, 60))}${why}`;
}

/** The search tree as indented text, children in id order. */
export function renderTree(view: RunView): string {
  const kids = new Map<number | null, NodeRecord[]>();
  for (const n of view.nodes) kids.set(n.parent, [...(kids.get(n.parent) ?? []), n]);
  const lines: string[] = [];
  const walk = (n: NodeRecord, prefix: string, last: boolean, top: boolean) => {
    const best = view.best?.id === n.id ? '  ★ best' : '';
    lines.push(`${top ? '' : prefix + (last ? '└─ ' : '├─ ')}${nodeLine(n, view.selection_metric)}${best}`);
    const children = kids.get(n.id) ?? [];
    children.forEach((c, i) => walk(c, top ? '' : prefix + (last ? '   ' : '│  '), i === children.length - 1, false));
  };
  for (const root of kids.get(null) ?? []) walk(root, '', true, true);
  return lines.join('\n');
}

export function summaryLines(view: Omit<RunView, 'nodes'>): string[] {
  const lines = [`run ${view.runId}: task=${view.task} model=${view.model} science_runner=${view.science_runner}`,
    `phase=${view.phase} iteration ${view.iteration}/${view.n_iterations}`];
  if (view.best) {
    lines.push(`best: v_${view.best.id} ${view.selection_metric}=${fmt(view.best.metric)}${view.best.speedup !== undefined ? ` (speed-up ${view.best.speedup}x over v_0)` : ''}`);
    lines.push(`best code: ${view.best.workspace}`);
  }
  if (view.fsr !== undefined) lines.push(`FSR: ${view.fsr.toFixed(3)} (fraction of the human record's speed-up recovered)`);
  lines.push(`LLM: ${view.usage.calls} calls, ${view.usage.input_tokens} in / ${view.usage.output_tokens} out tokens, $${view.usage.cost_usd.toFixed(4)}`);
  if (view.gpu_seconds !== undefined) lines.push(`executions: ${view.gpu_seconds} GPU-seconds`);
  if (view.stopped) lines.push(`stopped: ${view.stopped}`);
  if (view.forked_from) lines.push(`forked from ${view.forked_from.runId} v_${view.forked_from.nodeId}`);
  return lines;
}

/** Rows as aligned columns, two spaces apart. */
export function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}
