// The sweep report: totals, a heat map of one outcome per cell (columns one axis, rows the others,
// chosen axes averaged), and a table of every cell with a link to its run's report.
'use strict';

(function sweepReport() {
  const cells = DATA.cells;
  const AXIS_LABEL = {
    task: 'task',
    model: 'model',
    science_runner: 'science runner',
    hint_level: 'hint level',
    seed: 'seed',
  };
  const metricName = (cells.find((c) => c.selection_metric) || {}).selection_metric || 'metric';
  const lowerIsBetter = (cells.find((c) => c.lower_is_better !== undefined) || { lower_is_better: true })
    .lower_is_better;
  const MEASURES = [
    { key: 'fsr', label: 'FSR', better: 'higher', fmt: (v) => v.toFixed(3), domain: [0, 1] },
    { key: 'speedup', label: 'speed-up over v_0', better: 'higher', fmt: (v) => `${fmtNum(v)}×` },
    { key: 'best_metric', label: `best ${metricName}`, better: lowerIsBetter ? 'lower' : 'higher', fmt: fmtNum },
    { key: 'cost_usd', label: 'LLM cost', better: 'none', fmt: fmtUsd },
    { key: 'gpu_seconds', label: 'GPU time', better: 'none', fmt: (v) => fmtMs(v * 1000) },
  ].filter((m) => cells.some((c) => typeof c[m.key] === 'number'));

  // By default: hint levels across, seeds averaged, every other axis that varies down.
  const column = DATA.axes.includes('hint_level') ? 'hint_level' : DATA.axes.find((a) => a !== 'seed') || DATA.axes[0];
  const state = {
    measure: MEASURES.length ? MEASURES[0].key : undefined,
    column,
    averaged: new Set(DATA.axes.includes('seed') && column !== 'seed' ? ['seed'] : []),
  };

  function header() {
    const c = DATA.counts;
    const sourceNote = {
      query: 'read live from the sweep',
      result: "read from the sweep's result",
      runs: 'rebuilt from its runs (no worker answered the sweep)',
    }[DATA.source];
    return h(
      'header',
      { class: 'panel' },
      h('h1', {}, DATA.sweepId),
      h(
        'div',
        { class: 'sub' },
        `sweep of ${cells.length} cells${DATA.axes.length ? ` over ${DATA.axes.map((a) => AXIS_LABEL[a]).join(' × ')}` : ''}${DATA.concurrency ? ` · ${DATA.concurrency} at once` : ''}`,
      ),
      h('div', { class: 'badges' }, badge(DATA.status, `status-${DATA.status.toLowerCase()}`)),
      h(
        'div',
        { class: 'stats' },
        stat(
          'cells',
          `${c.completed + c.failed} / ${cells.length} done`,
          `${c.completed} completed · ${c.failed} failed · ${c.running} running · ${c.pending} pending`,
        ),
        stat('LLM cost', fmtUsd(DATA.cost_usd), 'all cells'),
        stat('GPU time', fmtMs(DATA.gpu_seconds * 1000), 'devices × wall time'),
      ),
      h('div', { class: 'muted small' }, `Generated ${fmtTime(DATA.generated_at)}, ${sourceNote}.`),
    );
  }

  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Hint levels in the order of the config schema; seeds as numbers; the rest by name.
  const HINTS = ['0', '1', '2', '3', '1+2', '1+2+3', 'diff'];
  const rank = (v) => (HINTS.includes(v) ? HINTS.indexOf(v) : Infinity);
  const byValue = (a, b) => {
    if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b);
    return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
  };

  function colour(m, v, lo, hi) {
    const [a, b] = m.domain || [lo, hi];
    const t = b > a ? Math.max(0, Math.min(1, (v - a) / (b - a))) : 0.5;
    if (m.better === 'none') return `hsl(212, 70%, ${94 - t * 30}%)`;
    const good = m.better === 'higher' ? t : 1 - t;
    return `hsl(${Math.round(good * 120)}, 62%, ${82 - Math.abs(good - 0.5) * 10}%)`;
  }

  function heatmap() {
    const wrap = h('div', { id: 'heatmap' });
    const draw = () => {
      const m = MEASURES.find((x) => x.key === state.measure);
      if (!m) return wrap.replaceChildren(h('p', { class: 'muted' }, 'No cell has an outcome yet.'));
      const rowAxes = DATA.axes.filter((a) => a !== state.column && !state.averaged.has(a));
      const colValues = state.column ? [...new Set(cells.map((c) => c.values[state.column]))].sort(byValue) : [''];
      const rowKey = (c) => rowAxes.map((a) => c.values[a]).join(' · ');
      const rowValues = [...new Set(cells.map((c) => rowAxes.map((a) => c.values[a])).map(JSON.stringify))]
        .map((k) => JSON.parse(k))
        .sort((x, y) => x.reduce((d, v, i) => d || byValue(v, y[i]), 0))
        .map((vals) => vals.join(' · '));
      const groups = new Map();
      for (const c of cells) {
        const k = `${rowKey(c)}\u0000${state.column ? c.values[state.column] : ''}`;
        groups.set(k, [...(groups.get(k) || []), c]);
      }
      const values = [...groups.values()]
        .map((g) => g.map((c) => c[m.key]).filter((v) => typeof v === 'number'))
        .filter((v) => v.length)
        .map(mean);
      const lo = Math.min(...values),
        hi = Math.max(...values);
      const table = h(
        'table',
        { class: 'heat' },
        h(
          'tr',
          {},
          h('th', {}, rowAxes.map((a) => AXIS_LABEL[a]).join(' · ') || ''),
          colValues.map((v) => h('th', {}, state.column ? `${AXIS_LABEL[state.column]} ${v}` : m.label)),
        ),
        rowValues.map((r) =>
          h(
            'tr',
            {},
            h('th', { style: 'text-align:left' }, r || 'all cells'),
            colValues.map((col) => {
              const group = groups.get(`${r}\u0000${col}`) || [];
              const xs = group.map((c) => c[m.key]).filter((v) => typeof v === 'number');
              if (!xs.length)
                return h(
                  'td',
                  { class: 'empty', title: group.map((c) => `${c.cell}: ${c.status}`).join('\n') },
                  group.length ? group.map((c) => c.status).join(', ') : '–',
                );
              const v = mean(xs);
              const link = group.length === 1 && group[0].report;
              const body = [
                m.fmt(v),
                xs.length > 1 || group.length > 1
                  ? h(
                      'div',
                      { class: 'stat-note' },
                      `mean of ${xs.length}${group.length > xs.length ? ` (${group.length - xs.length} without)` : ''}`,
                    )
                  : null,
              ];
              return h(
                'td',
                {
                  style: `background:${colour(m, v, lo, hi)}`,
                  title: group
                    .map((c) => `${c.cell}: ${typeof c[m.key] === 'number' ? m.fmt(c[m.key]) : c.status}`)
                    .join('\n'),
                },
                link ? h('a', { href: link }, body) : body,
              );
            }),
          ),
        ),
      );
      wrap.replaceChildren(table);
    };
    const select = (label, options, value, onchange) =>
      h(
        'label',
        {},
        `${label} `,
        h(
          'select',
          {
            onchange: (e) => {
              onchange(e.target.value);
              draw();
            },
          },
          options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
        ),
      );
    const controls = h(
      'div',
      { class: 'legend' },
      MEASURES.length
        ? select(
            'outcome',
            MEASURES.map((m) => [m.key, m.label]),
            state.measure,
            (v) => (state.measure = v),
          )
        : null,
      DATA.axes.length
        ? select(
            'columns',
            DATA.axes.map((a) => [a, AXIS_LABEL[a]]),
            state.column,
            (v) => (state.column = v),
          )
        : null,
      DATA.axes.length > 1
        ? h(
            'span',
            {},
            'average over: ',
            DATA.axes.map((a) =>
              h(
                'label',
                { style: 'margin-right:8px' },
                h('input', {
                  type: 'checkbox',
                  checked: state.averaged.has(a),
                  onchange: (e) => {
                    e.target.checked ? state.averaged.add(a) : state.averaged.delete(a);
                    draw();
                  },
                }),
                ` ${AXIS_LABEL[a]}`,
              ),
            ),
          )
        : null,
    );
    draw();
    return h('div', {}, controls, wrap);
  }

  function table() {
    const cols = [
      ['cell', (c) => c.cell, (c) => (c.report ? h('a', { href: c.report }, c.cell) : c.cell)],
      ...['task', 'model', 'science_runner', 'hint_level', 'seed'].map((a) => [AXIS_LABEL[a], (c) => c.values[a]]),
      ['status', (c) => c.status, (c) => h('span', {}, c.status, c.attempt > 1 ? ` (attempt ${c.attempt})` : '')],
      [`best ${metricName}`, (c) => c.best_metric, (c) => fmtNum(c.best_metric), 'num'],
      ['speed-up', (c) => c.speedup, (c) => (c.speedup === undefined ? '–' : `${fmtNum(c.speedup)}×`), 'num'],
      ['FSR', (c) => c.fsr, (c) => (c.fsr === undefined ? '–' : c.fsr.toFixed(3)), 'num'],
      ['versions', (c) => c.nodes, (c) => fmtInt(c.nodes), 'num'],
      ['LLM cost', (c) => c.cost_usd, (c) => fmtUsd(c.cost_usd), 'num'],
      [
        'GPU time',
        (c) => c.gpu_seconds,
        (c) => (c.gpu_seconds === undefined ? '–' : fmtMs(c.gpu_seconds * 1000)),
        'num',
      ],
      ['note', (c) => c.error || c.stopped || '', (c) => c.error || (c.stopped ? `stopped: ${c.stopped}` : '')],
    ];
    let sortBy = 0,
      asc = true;
    const el = h('table', { class: 'cells', id: 'cells' });
    const draw = () => {
      const key = cols[sortBy][1];
      const rows = [...cells].sort((a, b) => {
        const x = key(a),
          y = key(b);
        if (x === y) return 0;
        if (x === undefined) return 1;
        if (y === undefined) return -1;
        return (x < y ? -1 : 1) * (asc ? 1 : -1);
      });
      el.replaceChildren(
        h(
          'tr',
          {},
          cols.map(([label], i) =>
            h(
              'th',
              {
                style: 'cursor:pointer',
                onclick: () => {
                  asc = sortBy === i ? !asc : true;
                  sortBy = i;
                  draw();
                },
              },
              label + (i === sortBy ? (asc ? ' ▲' : ' ▼') : ''),
            ),
          ),
        ),
        ...rows.map((c) =>
          h(
            'tr',
            { 'data-cell': c.cell },
            cols.map(([, key, show, cls]) => h('td', { class: cls || '' }, show ? show(c) : key(c))),
          ),
        ),
      );
    };
    draw();
    return h('div', { style: 'overflow:auto' }, el);
  }

  document
    .getElementById('app')
    .replaceChildren(header(), section('Outcome per cell', heatmap()), section('Cells', table()));
})();
