// The run report: header and totals, the search tree (d3-hierarchy layout, SVG), the selected node's
// details (plan, diff via diff2html, metrics, log tail), the metric per version (uPlot), the config.
'use strict';

(function runReport() {
  const run = DATA.run;
  const nodes = DATA.nodes;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const metric = run.selection_metric;
  const onBestPath = new Set(DATA.best_path);
  const bestId = run.best ? run.best.id : undefined;
  const treeNodes = new Map(); // id → <g>
  // A task that trains on no GPU: its device time is CPU time, and is said so.
  const cpuRun = !!(DATA.config && DATA.config.task && DATA.config.task.gpus_per_execution === 0);
  const deviceLabel = cpuRun ? 'device time (CPU)' : 'GPU time';

  const statusClass = (n) =>
    `st-${n.status}${n.status === 'ok' && !n.valid ? ' invalid' : ''}${n.violations && n.violations.length ? ' flagged' : ''}`;
  const metricOf = (n) => (n.metrics ? n.metrics[metric] : undefined);

  function header() {
    const counts = Object.entries(DATA.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    const u = run.usage;
    const sourceNote =
      DATA.source === 'query'
        ? 'read live from the workflow'
        : `read from the run's stored snapshot of ${fmtTime(run.updated_at)} (no worker answered)`;
    return h(
      'header',
      { class: 'panel' },
      h('h1', {}, run.runId),
      h('div', { class: 'sub' }, `task ${run.task} · model ${run.model} · science runner ${run.science_runner}`),
      h(
        'div',
        { class: 'badges' },
        badge(DATA.status, `status-${DATA.status.toLowerCase()}`),
        DATA.failure ? badge(`failed: ${DATA.failure}`, 'status-failed') : null,
        badge(`phase: ${run.phase}`, `phase-${run.phase}`),
        run.paused ? badge('paused', 'warn') : null,
        run.stopped ? badge(`stopped: ${run.stopped}`, 'warn') : null,
      ),
      h(
        'div',
        { class: 'stats' },
        stat('iteration', `${run.iteration} / ${run.n_iterations}`),
        stat('versions', `${nodes.length}`, counts),
        stat(
          `best ${metric}`,
          run.best ? `${fmtNum(run.best.metric)}` : '–',
          run.best
            ? `v_${run.best.id}${run.best.speedup !== undefined ? ` · ${run.best.speedup}× over v_0` : ''}`
            : 'no valid version yet',
        ),
        run.fsr !== undefined ? stat('FSR', run.fsr.toFixed(3), 'fraction of the human speed-up recovered') : null,
        stat(
          'LLM cost',
          fmtUsd(u.cost_usd),
          `${fmtInt(u.calls)} calls · ${fmtInt(u.input_tokens)} in / ${fmtInt(u.output_tokens)} out tokens`,
        ),
        stat(
          deviceLabel,
          run.gpu_seconds !== undefined ? fmtMs(run.gpu_seconds * 1000) : '–',
          'devices × wall time of executions',
        ),
      ),
      h(
        'div',
        { class: 'muted small' },
        `Generated ${fmtTime(DATA.generated_at)}, ${sourceNote}.`,
        run.forked_from ? ` Forked from ${run.forked_from.runId} v_${run.forked_from.nodeId}.` : '',
      ),
      DATA.executions.length ? h('div', { class: 'in-flight' }, DATA.executions.map(executionLine)) : null,
    );
  }

  function legend() {
    const item = (cls, text) => h('span', { class: 'legend-item' }, h('span', { class: `dot ${cls}` }), text);
    return h(
      'div',
      { class: 'legend' },
      item('st-ok', 'valid'),
      item('st-ok invalid', 'ran, not valid / flagged'),
      item('st-buggy', 'buggy'),
      item('st-timeout', 'timeout'),
      item('st-crashed', 'crashed'),
      item('st-pending', 'in progress'),
      h('span', { class: 'legend-item' }, h('span', { class: 'best-line' }), 'path to the best'),
    );
  }

  function tree() {
    const kids = new Map();
    const roots = [];
    for (const n of nodes) {
      if (n.parent === null || !byId.has(n.parent)) roots.push(n);
      else kids.set(n.parent, [...(kids.get(n.parent) || []), n]);
    }
    const wrap = h('div', { class: 'tree-scroll', id: 'tree' });
    if (!roots.length) return appendKids(wrap, [h('p', { class: 'muted' }, 'No versions recorded yet.')]);
    // Several roots (a fork's carried lineage cut short) hang under an invisible one.
    const top = roots.length === 1 ? roots[0] : { id: -1, virtual: true };
    const root = d3.hierarchy(top, (d) => (d.virtual ? roots : kids.get(d.id)));
    const ROW = 24,
      COL = 128;
    d3
      .tree()
      .nodeSize([ROW, COL])
      .separation((a, b) => (a.parent === b.parent ? 1 : 1.25))(root);
    let minX = Infinity,
      maxX = -Infinity,
      maxY = 0;
    root.each((d) => {
      minX = Math.min(minX, d.x);
      maxX = Math.max(maxX, d.x);
      maxY = Math.max(maxY, d.y);
    });
    const pad = 16,
      labelRoom = 120;
    const width = maxY + pad * 2 + labelRoom,
      height = maxX - minX + pad * 2;
    const g = s('g', { transform: `translate(${pad},${pad - minX})` });
    for (const link of root.links()) {
      if (link.source.data.virtual) continue;
      const { x: x0, y: y0 } = link.source,
        { x: x1, y: y1 } = link.target;
      const best = onBestPath.has(link.source.data.id) && onBestPath.has(link.target.data.id);
      g.append(
        s('path', {
          class: `link${best ? ' best' : ''}`,
          d: `M${y0},${x0}C${(y0 + y1) / 2},${x0} ${(y0 + y1) / 2},${x1} ${y1},${x1}`,
        }),
      );
    }
    root.each((d) => {
      if (d.data.virtual) return;
      const n = d.data;
      const m = metricOf(n);
      const label = `v_${n.id}${m !== undefined ? ` ${fmtNum(m)}` : n.status === 'pending' ? ' …' : ''}`;
      const node = s(
        'g',
        {
          class: `node ${statusClass(n)}${onBestPath.has(n.id) ? ' on-best' : ''}${n.id === bestId ? ' best' : ''}`,
          transform: `translate(${d.y},${d.x})`,
          'data-id': n.id,
          tabindex: 0,
          role: 'button',
          onclick: () => select(n.id),
          onkeydown: (e) => (e.key === 'Enter' || e.key === ' ') && select(n.id),
        },
        s(
          'title',
          {},
          `v_${n.id} · ${n.stage} · ${n.status}${m !== undefined ? ` · ${metric}=${fmtNum(m)}` : ''}\n${n.plan.split('\n')[0].slice(0, 120)}`,
        ),
        n.id === bestId ? s('circle', { class: 'best-ring', r: 11 }) : null,
        s('circle', { class: 'dot-svg', r: 7 }),
        s('text', { x: 11, dy: '0.32em' }, label),
      );
      treeNodes.set(n.id, node);
      g.append(node);
    });
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'tree-svg' }, g);
    return appendKids(wrap, [svg]);
  }

  function metricsTable(n) {
    const rows = Object.entries(n.metrics || {}).map(([k, v]) =>
      h(
        'tr',
        { class: k === metric ? 'selection' : '' },
        h('th', {}, k),
        h('td', {}, fmtNum(v)),
        h('td', { class: 'muted' }, k === metric ? 'selection metric' : ''),
      ),
    );
    for (const [k, v] of Object.entries(n.private_metrics || {}))
      rows.push(h('tr', {}, h('th', {}, k), h('td', {}, fmtNum(v)), h('td', {}, badge('private', 'private'))));
    if (!rows.length)
      return h(
        'p',
        { class: 'muted' },
        n.status === 'pending' ? 'Not measured yet.' : 'No metrics were read from this execution.',
      );
    return h('table', { class: 'metrics' }, rows);
  }

  function diffView(n) {
    if (n.parent === null) return h('p', { class: 'muted' }, 'The starting code: no parent to compare with.');
    if (!n.diff && !n.files.length)
      return h(
        'p',
        { class: 'muted' },
        n.status === 'pending'
          ? 'Being written.'
          : 'No code change (the edit did not apply, or left the code as it was).',
      );
    const whole = new Map((n.code_files || []).map((c) => [c.path, c]));
    const list = h(
      'ul',
      { class: 'files' },
      n.files.map((f) =>
        h(
          'li',
          {},
          h('code', {}, f.path),
          f.binary
            ? ' (binary)'
            : h(
                'span',
                {},
                ' ',
                h('span', { class: 'add' }, `+${f.added}`),
                ' ',
                h('span', { class: 'del' }, `−${f.removed}`),
              ),
          whole.has(f.path)
            ? [' · ', h('a', { href: whole.get(f.path).file, target: '_blank', class: 'whole-file' }, 'whole file')]
            : null,
        ),
      ),
    );
    const rendered = h('div', { class: 'diff' });
    // diff2html escapes the code it renders; its output is markup we trust.
    if (n.diff)
      rendered.innerHTML = Diff2Html.html(n.diff, {
        drawFileList: false,
        outputFormat: 'line-by-line',
        matching: 'lines',
      });
    return h(
      'div',
      {},
      list,
      rendered,
      n.diff_truncated
        ? h(
            'p',
            { class: 'muted' },
            'The diff is cut here; ',
            h('a', { href: `diffs/v_${n.id}.diff` }, 'the whole diff'),
            ' is a file beside this page.',
          )
        : null,
    );
  }

  function codeView(n) {
    if (!n.code_files || !n.code_files.length)
      return h(
        'p',
        { class: 'muted' },
        n.status === 'pending' && !n.code_files ? 'Being written.' : 'No code files in the report.',
      );
    return h(
      'ul',
      { class: 'files code-files' },
      n.code_files.map((c) =>
        h(
          'li',
          {},
          h('a', { href: c.file, target: '_blank' }, c.path),
          h('span', { class: 'muted' }, ` ${fmtBytes(c.bytes)}`),
        ),
      ),
    );
  }

  function curveView(n) {
    const c = n.curve;
    const last = c.val_loss.length - 1;
    return h(
      'div',
      { class: 'muted small' },
      `${c.validations} validations to step ${fmtInt(c.step[last])}/${fmtInt(c.total_steps)}; final val_loss ${fmtNum(c.val_loss[last])} at ${fmtMs(c.train_time_ms[last])} of training`,
      c.validations > c.step.length ? ` (plot thinned to ${c.step.length} points)` : '',
      '. Shown in the training-curves panel below, with the path to the best.',
    );
  }

  function logView(n) {
    if (n.log_tail === undefined) return h('p', { class: 'muted' }, n.status === 'pending' ? 'No log yet.' : 'No log.');
    return h(
      'div',
      {},
      h('pre', { class: 'log', id: 'log-tail' }, n.log_tail),
      n.log_file ? h('a', { class: 'log-link', href: n.log_file }, `whole log (${fmtBytes(n.log_bytes)})`) : null,
      n.eval_log_file ? [' · ', h('a', { href: n.eval_log_file }, 'eval log')] : null,
    );
  }

  function detail(n) {
    const t = n.timings || {};
    const u = n.usage || {};
    const parentLink =
      n.parent === null
        ? null
        : h(
            'a',
            {
              href: `#v_${n.parent}`,
              onclick: (e) => {
                e.preventDefault();
                select(n.parent);
              },
            },
            `v_${n.parent}`,
          );
    return h(
      'div',
      { class: 'detail-body' },
      h(
        'h2',
        {},
        `v_${n.id} `,
        badge(n.status, `st-${n.status}`),
        n.id === bestId ? badge('★ best', 'best') : null,
        n.violations && n.violations.length ? badge('excluded', 'warn') : null,
        n.flags && n.flags.length ? badge(`${n.flags.length} warning(s)`, 'warn') : null,
      ),
      kvTable([
        ['stage', n.parent === null ? n.stage : h('span', {}, `${n.stage} of `, parentLink)],
        ['iteration', n.iteration],
        ['valid', n.valid ? 'yes' : 'no'],
        ['reason', n.reason],
        [
          'violations',
          n.violations && n.violations.length
            ? h(
                'ul',
                {},
                n.violations.map((v) => h('li', {}, `${v.rule}: ${v.detail}`)),
              )
            : undefined,
        ],
        [
          'warnings',
          n.flags && n.flags.length
            ? h(
                'ul',
                {},
                n.flags.map((f) => h('li', {}, f)),
              )
            : undefined,
        ],
        ['outcome', n.summary],
      ]),
      h('h3', {}, 'Plan'),
      h('pre', { class: 'plan' }, n.plan || '(none)'),
      h('h3', {}, 'Metrics'),
      metricsTable(n),
      h('h3', {}, 'Changes against the parent'),
      diffView(n),
      n.curve ? [h('h3', {}, 'Training curve'), curveView(n)] : null,
      h('h3', {}, 'Code (whole files)'),
      codeView(n),
      h('h3', {}, 'Log'),
      logView(n),
      h('h3', {}, 'Timings and cost'),
      kvTable([
        ['started', fmtTime(t.started_at)],
        ['finished', t.finished_at ? fmtTime(t.finished_at) : 'not yet'],
        ['LLM time', fmtMs(t.llm_ms)],
        ['execution', `${fmtMs(t.exec_ms)}${t.exec_cached ? ' (measured before; reused)' : ''}`],
        ['harness wall clock', t.harness_wall_ms !== undefined ? fmtMs(t.harness_wall_ms) : undefined],
        [
          'LLM calls',
          `${fmtInt(u.calls)} · ${fmtInt(u.input_tokens)} in (${fmtInt(u.cached_input_tokens)} cached) / ${fmtInt(u.output_tokens)} out tokens`,
        ],
        ['LLM cost', fmtUsd(u.cost_usd)],
      ]),
      n.previous && n.previous.length
        ? [
            h('h3', {}, 'Earlier measurements'),
            h(
              'table',
              { class: 'metrics' },
              n.previous.map((p, i) =>
                h(
                  'tr',
                  {},
                  h('th', {}, `#${i + 1}`),
                  h('td', {}, p.status),
                  h('td', {}, fmtNum(p.metrics[metric])),
                  h('td', {}, p.log_file ? h('a', { href: p.log_file }, 'log') : ''),
                ),
              ),
            ),
          ]
        : null,
    );
  }

  /** Scrolls the tree (not the page) so the node is in view. */
  function reveal(g) {
    const box = document.getElementById('tree');
    const r = g.getBoundingClientRect(),
      b = box.getBoundingClientRect();
    if (r.top < b.top || r.bottom > b.bottom) box.scrollTop += r.top - b.top - box.clientHeight / 2;
    if (r.left < b.left || r.right > b.right) box.scrollLeft += r.left - b.left - box.clientWidth / 3;
  }

  let selected;
  function select(id) {
    const n = byId.get(id);
    if (!n) return;
    if (selected !== undefined && treeNodes.get(selected)) treeNodes.get(selected).classList.remove('selected');
    selected = id;
    const g = treeNodes.get(id);
    if (g) {
      g.classList.add('selected');
      reveal(g);
    }
    const panel = document.getElementById('detail');
    panel.replaceChildren(detail(n));
    panel.scrollTop = 0;
    history.replaceState(null, '', `#v_${id}`);
    if (typeof curvePanel !== 'undefined' && curvePanel.redraw) curvePanel.redraw();
  }

  function plot() {
    const el = h('div', { id: 'plot' });
    const ordered = [...nodes].sort((a, b) => a.id - b.id);
    const counts = (n) => n.valid && !(n.violations && n.violations.length) && typeof metricOf(n) === 'number'; // warnings do not exclude
    const better = (a, b) => (run.lower_is_better ? a < b : a > b);
    let best;
    const xs = [],
      valid = [],
      invalid = [],
      broken = [],
      bestSoFar = [];
    const measured = ordered.map(metricOf).filter((m) => typeof m === 'number');
    // A version with no metric (buggy, crashed, timed out) still shows: a hollow red mark on the
    // worst edge of the plot, so failed attempts are visible where they happened.
    const worst = measured.length ? (run.lower_is_better ? Math.max(...measured) : Math.min(...measured)) : null;
    for (const n of ordered) {
      const m = metricOf(n);
      if (counts(n) && (best === undefined || better(m, best))) best = m;
      xs.push(n.id);
      valid.push(counts(n) ? m : null);
      invalid.push(!counts(n) && typeof m === 'number' ? m : null);
      broken.push(typeof m !== 'number' && n.status !== 'pending' ? worst : null);
      bestSoFar.push(best === undefined ? null : best);
    }
    if (![...valid, ...invalid].some((v) => v !== null)) {
      el.append(h('p', { class: 'muted' }, `No version has a ${metric} yet.`));
      return { el, draw() {} };
    }
    const draw = () => {
      const width = Math.max(320, el.clientWidth);
      const points = (color, size) => ({ show: true, size, fill: color, stroke: color });
      const u = new uPlot(
        {
          width,
          height: 280,
          // Versions are whole numbers: whole-number ticks, half a version of room at either end.
          scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } },
          axes: [
            { label: 'version (v_n)', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] },
            yAxis(`${metric} (${run.lower_is_better ? 'lower' : 'higher'} is better)`),
          ],
          series: [
            {
              label: 'version',
              value: (_u, v) =>
                v === null || v === undefined ? '–' : `v_${v} (iteration ${byId.get(v) ? byId.get(v).iteration : '?'})`,
            },
            {
              label: metric,
              stroke: '#2e9d5b',
              paths: () => null,
              points: points('#2e9d5b', 8),
              value: (_u, v) => fmtNum(v),
            },
            {
              label: 'not valid / flagged',
              stroke: '#d9534f',
              paths: () => null,
              points: points('#d9534f', 6),
              value: (_u, v) => fmtNum(v),
            },
            {
              label: 'buggy / crashed / timeout (no metric; drawn at the worst edge)',
              stroke: '#8e2b2b',
              paths: () => null,
              points: { show: true, size: 9, width: 2, fill: '#ffffff', stroke: '#8e2b2b' },
              value: (_u, v, _s, i) => (v === null ? '–' : byId.get(xs[i]) ? byId.get(xs[i]).status : ''),
            },
            {
              label: 'best so far',
              stroke: '#c98a00',
              width: 2,
              paths: uPlot.paths.stepped({ align: 1 }),
              points: { show: false },
              value: (_u, v) => fmtNum(v),
            },
          ],
        },
        [xs, valid, invalid, broken, bestSoFar],
        el,
      );
      u.over.addEventListener('click', () => {
        if (u.cursor.idx !== null && u.cursor.idx !== undefined) select(xs[u.cursor.idx]);
      });
      return u;
    };
    return { el, draw };
  }

  function totals() {
    const u = run.usage;
    return kvTable(
      [
        ['Temporal status', DATA.status],
        ['selection metric', `${metric} (${run.lower_is_better ? 'lower' : 'higher'} is better)`],
        ['iterations', `${run.iteration} of ${run.n_iterations}`],
        ['versions', nodes.length],
        [
          'best',
          run.best
            ? `v_${run.best.id}: ${metric}=${fmtNum(run.best.metric)}${run.best.speedup !== undefined ? `, ${run.best.speedup}× over v_0` : ''}`
            : undefined,
        ],
        ['best code', run.best ? h('code', {}, run.best.workspace) : undefined],
        ['FSR', run.fsr !== undefined ? run.fsr.toFixed(3) : undefined],
        ['LLM calls', fmtInt(u.calls)],
        [
          'tokens',
          `${fmtInt(u.input_tokens)} in (${fmtInt(u.cached_input_tokens)} cached) / ${fmtInt(u.output_tokens)} out`,
        ],
        ['LLM cost', fmtUsd(u.cost_usd)],
        [
          deviceLabel,
          run.gpu_seconds !== undefined ? `${run.gpu_seconds} device-seconds${cpuRun ? ' (CPU)' : ''}` : undefined,
        ],
        ['stopped', run.stopped],
      ],
      'totals',
    );
  }

  /** val_loss per validation step (or training time): the path to the best, and the selected version. */
  function curves() {
    const withCurve = nodes.filter((n) => n.curve);
    const el = h('div', { id: 'curves' });
    if (!withCurve.length)
      return {
        el: h('p', { class: 'muted' }, 'No version logged validation lines (step:N/M val_loss:… train_time:…ms).'),
        draw() {},
      };
    let xKey = 'step';
    let showAll = false;
    let u;
    const chosen = () => {
      const ids = new Set(
        showAll ? withCurve.map((n) => n.id) : [...DATA.best_path, ...(selected !== undefined ? [selected] : [])],
      );
      const list = withCurve.filter((n) => ids.has(n.id));
      return (list.length ? list : withCurve.slice(-1)).map((n, i) => ({
        label: `v_${n.id}${n.id === bestId ? ' ★' : ''}${n.status !== 'ok' || !n.valid ? ` (${n.status}${n.valid ? '' : ', not valid'})` : ''}`,
        curve: n.curve,
        width: n.id === selected ? 3 : 1.5,
        dash: n.valid ? undefined : [5, 4],
        color: n.id === bestId ? '#c98a00' : PALETTE[i % PALETTE.length],
      }));
    };
    const draw = () => {
      if (u) u.destroy();
      el.replaceChildren();
      u = curvesChart(el, chosen(), xKey, 300);
    };
    const controls = h(
      'div',
      { class: 'legend' },
      h(
        'label',
        {},
        'x axis ',
        h(
          'select',
          {
            id: 'curve-x',
            onchange: (e) => {
              xKey = e.target.value;
              draw();
            },
          },
          h('option', { value: 'step' }, 'step'),
          h('option', { value: 'train_time' }, 'training time'),
        ),
      ),
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          id: 'curve-all',
          onchange: (e) => {
            showAll = e.target.checked;
            draw();
          },
        }),
        ` every version (${withCurve.length})`,
      ),
      h('span', {}, 'dashed: not valid'),
    );
    return { el: h('div', {}, controls, el), draw, redraw: draw };
  }

  const chart = plot();
  const curvePanel = curves();
  const app = document.getElementById('app');
  app.replaceChildren(
    header(),
    h(
      'div',
      { class: 'main' },
      section('Search tree', legend(), tree()),
      h(
        'section',
        { class: 'panel detail', id: 'detail' },
        h('p', { class: 'muted' }, 'Click a version in the tree to see it.'),
      ),
    ),
    section(`${metric} per version, and the best so far`, chart.el),
    section('Training curves: val_loss per step', curvePanel.el),
    h(
      'div',
      { class: 'two' },
      section('Totals', totals()),
      section(
        'Config',
        DATA.config !== undefined
          ? h('pre', { class: 'config' }, JSON.stringify(DATA.config, null, 2))
          : h(
              'p',
              { class: 'muted' },
              "Not available: the Temporal server could not be asked for the run's start input.",
            ),
      ),
    ),
  );
  let u = chart.draw();
  curvePanel.draw();
  let lastWidth = chart.el.clientWidth;
  new ResizeObserver(() => {
    if (!u || chart.el.clientWidth === lastWidth) return;
    lastWidth = chart.el.clientWidth;
    u.setSize({ width: Math.max(320, lastWidth), height: 280 });
  }).observe(chart.el);

  const fromHash = /^#v_(\d+)$/.exec(location.hash);
  const first =
    fromHash && byId.has(Number(fromHash[1]))
      ? Number(fromHash[1])
      : bestId !== undefined
        ? bestId
        : nodes.length
          ? nodes[nodes.length - 1].id
          : undefined;
  if (first !== undefined) select(first);
  window.addEventListener('hashchange', () => {
    const m = /^#v_(\d+)$/.exec(location.hash);
    if (m && Number(m[1]) !== selected) select(Number(m[1]));
  });
})();
