// Shared by the run and sweep report pages. Plain browser script (no modules: pages open from file://).
'use strict';

const DATA = JSON.parse(document.getElementById('report-data').textContent);
const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return el;
}

function appendKids(el, kids) {
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

/** An HTML element; text children are text nodes, never parsed as HTML. */
function h(tag, attrs, ...kids) {
  return appendKids(setAttrs(document.createElement(tag), attrs), kids);
}

function s(tag, attrs, ...kids) {
  return appendKids(setAttrs(document.createElementNS(SVG_NS, tag), attrs), kids);
}

function fmtNum(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(1) : String(Number(v.toPrecision(5)));
}

function fmtMs(ms) {
  if (ms === undefined || ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min ${Math.round(sec % 60)} s`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

const fmtUsd = (v) => (v === undefined || v === null ? '–' : `$${v.toFixed(v < 1 ? 4 : 2)}`);
const fmtBytes = (b) =>
  b < 1024 ? `${b} B` : b < 1048576 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 1048576).toFixed(1)} MB`;
const fmtInt = (v) => (v === undefined || v === null ? '–' : Number(v).toLocaleString('en-US'));
const fmtTime = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');

function badge(text, cls) {
  return h('span', { class: `badge ${cls || ''}` }, text);
}

/** A table of label → value rows, skipping rows whose value is missing. */
function kvTable(rows, cls) {
  return h(
    'table',
    { class: `kv ${cls || ''}` },
    rows
      .filter((r) => r && r[1] !== undefined && r[1] !== null)
      .map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))),
  );
}

/** A headline figure: label, value and an optional note under it. */
function stat(label, value, note) {
  return h(
    'div',
    { class: 'stat' },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
    note ? h('div', { class: 'stat-note' }, note) : null,
  );
}

function section(title, ...kids) {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...kids);
}

function progressBar(fraction) {
  const pct = Math.max(0, Math.min(1, fraction)) * 100;
  return h(
    'span',
    { class: 'bar', role: 'progressbar', 'aria-valuenow': Math.round(pct) },
    h('span', { class: 'bar-fill', style: `width:${pct.toFixed(1)}%` }),
  );
}

/** One line per execution in flight: `step n/N` and a bar when the training script reports steps. */
function executionLine(e) {
  const who = e.nodeId !== undefined ? `v_${e.nodeId}` : 'a version';
  const steps = e.totalSteps
    ? [progressBar(e.step / e.totalSteps), ` step ${fmtInt(e.step)}/${fmtInt(e.totalSteps)}`]
    : e.step !== undefined
      ? ` step ${fmtInt(e.step)}`
      : ' (no step reported yet)';
  return h(
    'div',
    { class: 'execution' },
    h('b', {}, `${who} executing`),
    ' ',
    steps,
    e.elapsed_ms !== undefined ? ` · ${fmtMs(e.elapsed_ms)} elapsed` : '',
    e.devices && e.devices.length ? ` · GPUs ${e.devices.join(',')}` : ' · CPU',
    e.attempt > 1 ? ` · attempt ${e.attempt}${e.last_failure ? ` (previous: ${e.last_failure})` : ''}` : '',
    e.heartbeat_at ? h('span', { class: 'muted' }, ` · as of ${fmtTime(e.heartbeat_at)}`) : '',
  );
}

/**
 * Width of a y axis in uPlot, from its widest tick label plus room for the axis label, so neither
 * is clipped whatever the metric's magnitude (115695 ms or 3.2794).
 */
function yAxisSize(_u, values) {
  const widest = Math.max(2, ...(values || []).map((v) => String(v).length));
  return Math.ceil(widest * 7.5) + 38;
}

/** uPlot options for a readable chart: axis labels never clipped, a y axis sized to its ticks. */
function yAxis(label, extra) {
  return { label, size: yAxisSize, labelSize: 20, ...(extra || {}) };
}

/** Colours for overlaid series (runs, seeds, versions): distinct in print and for most colour vision. */
const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#17becf',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
];

/**
 * Training curves overlaid in one uPlot: `curves` is [{ label, curve, width?, dash? }], x is the
 * validation step or the training time. Each curve keeps its own x grid (uPlot.join aligns them).
 */
function curvesChart(el, curves, xKey, height) {
  const tables = curves.map((c) => [
    xKey === 'train_time' ? c.curve.train_time_ms.map((t) => t / 1000) : c.curve.step,
    c.curve.val_loss,
  ]);
  const data = uPlot.join(tables);
  const width = Math.max(320, el.clientWidth || 640);
  return new uPlot(
    {
      width,
      height: height || 300,
      scales: { x: { time: false } },
      axes: [{ label: xKey === 'train_time' ? 'training time (s)' : 'step' }, yAxis('val_loss (lower is better)')],
      series: [
        { label: xKey === 'train_time' ? 'train time (s)' : 'step', value: (_u, v) => fmtNum(v) },
        ...curves.map((c, i) => ({
          label: c.label,
          stroke: c.color || PALETTE[i % PALETTE.length],
          width: c.width || 1.5,
          dash: c.dash,
          spanGaps: true,
          points: { show: false },
          value: (_u, v) => fmtNum(v),
        })),
      ],
    },
    data,
    el,
  );
}
