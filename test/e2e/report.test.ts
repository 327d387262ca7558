import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { loadScript, startScriptedServer, type Script } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';
import { loadRunView } from '../../src/store/run-view-store';
import { executionsInFlight } from '../../app/report/in-flight';
import { ArtifactStore } from '../../src/store/artifact-store';
import type { SweepResult } from '../../core/sweep-state';
import {
  cli,
  connect,
  makeEnv,
  startWorker,
  stopWorker,
  trackCleanups,
  waitFor,
  type TestEnv,
} from '../helpers/harness';

// `speedrunner report` as a person uses it: a real run, the CLI writes the report, a real browser
// opens it from the file system, a click on a version shows its diff and metrics.
const onCleanup = trackCleanups();

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = !existsSync(CHROMIUM);
if (noBrowser) {
  console.warn(
    `report e2e: SKIPPED — ${CHROMIUM} is missing. \`npm run setup\` installs it when run as root on Debian (apt-get install -y chromium); otherwise install Chromium yourself.`,
  );
}
const ARTIFACTS = join(ROOT, 'test-artifacts');

/** The fixture's replies to the analysis calls (metric reader, outcome summaries); ideas and edits are ours. */
const analysisRules = loadScript(join(ROOT, 'test/fixtures/scripts/counter-faster.yaml')).rules.filter(
  (r) => !['ideator', 'coder'].includes(r.system ?? ''),
);
const edit = (search: string, replace: string) =>
  `counter.py\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;

/** Drafts of every kind (faster, crashing, silent), then improvements that compound. */
const mixedScript: Script = {
  latency_ms: 0,
  rules: [
    {
      name: 'ideator',
      system: 'ideator',
      replies: ['Cut the delay by 50%', 'Crash it on purpose', 'Cut the delay by 20%', 'Print no score'],
    },
    {
      name: 'coder-50',
      system: 'coder',
      user: 'by 50%',
      replies: [edit('MODE = "ok"', 'MODE = "ok"\nDELAY = DELAY * 0.5')],
    },
    {
      name: 'coder-20',
      system: 'coder',
      user: 'by 20%',
      replies: [edit('MODE = "ok"', 'MODE = "ok"\nDELAY = DELAY * 0.8')],
    },
    { name: 'coder-crash', system: 'coder', user: 'Crash it', replies: [edit('MODE = "ok"', 'MODE = "crash"')] },
    { name: 'coder-silent', system: 'coder', user: 'no score', replies: [edit('MODE = "ok"', 'MODE = "silent"')] },
    ...analysisRules,
  ],
};

/** One version that trains for a minute, reporting its steps: the run is caught while it executes. */
const slowScript: Script = {
  latency_ms: 0,
  rules: [
    { name: 'ideator', system: 'ideator', replies: ['Train for longer'] },
    { name: 'coder', system: 'coder', replies: [edit('MODE = "ok"', 'MODE = "ok"\nSTEPS = 240')] },
    ...analysisRules,
  ],
};

async function setUp(script: Script, workerEnv: Record<string, string> = {}) {
  const t = makeEnv(inject('temporalPort'));
  const model = await startScriptedServer(script);
  onCleanup(() => model.close());
  const workers = [];
  for (const kind of ['control', 'gpu'] as const) {
    const w = await startWorker(t, kind, workerEnv);
    onCleanup(() => stopWorker(w));
    workers.push(w);
  }
  return { t, model, workers };
}

async function startRun(t: TestEnv, args: string[]) {
  const res = await cli(t, ['run', 'task=counter', ...args, '--detach', '--json']);
  expect(res.exitCode, res.stderr).toBe(0);
  return JSON.parse(res.stdout).runId as string;
}

async function report(t: TestEnv, runId: string) {
  const out = join(t.home, 'report');
  const res = await cli(t, ['report', runId, '--out', out, '--json']);
  expect(res.exitCode, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as { index: string; url: string; source: string; status: string; page_bytes: number };
}

async function openPage(url: string, ready = '.node'): Promise<{ page: Page; errors: string[] }> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM });
  onCleanup(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  // Anything the page asks for beyond its own file would be a broken "self-contained" promise.
  // (Following a link to another report beside it is fine; fetching anything else is not.)
  page.on(
    'request',
    (r) =>
      r.url() !== url &&
      !r.isNavigationRequest() &&
      !r.url().startsWith('data:') &&
      errors.push(`request for ${r.url()}`),
  );
  await page.goto(url);
  await page.waitForSelector(ready);
  return { page, errors };
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5))));

describe('the HTML report', () => {
  it.skipIf(noBrowser)(
    "shows a finished run whose workers are gone: tree, a clicked version's diff, metrics and log, the plot",
    async () => {
      const { t, model, workers } = await setUp(mixedScript);
      const runId = await startRun(t, [`model.base_url=${model.url}`, 'science_runner=aide', 'n_iterations=6']);
      await (await connect(t.port)).workflow.getHandle(runId).result();
      for (const w of workers) await stopWorker(w);

      const r = await report(t, runId);
      // No worker answers: the report is built from the run's stored view.
      expect(r).toMatchObject({ source: 'store', status: 'COMPLETED' });
      const store = new ArtifactStore(join(t.home, 'store'));
      const view = (await loadRunView(store, runId))!;
      expect(view.nodes.length).toBeGreaterThan(6); // the root and at least one version per iteration

      const { page, errors } = await openPage(r.url);
      await expect(page.locator('header h1').textContent()).resolves.toBe(runId);
      await expect(page.locator('header .badges').textContent()).resolves.toContain('COMPLETED');
      expect(await page.locator('.node').count()).toBe(view.nodes.length);
      // The best version and the path to it are marked.
      expect(await page.locator(`.node.best[data-id="${view.best!.id}"]`).count()).toBe(1);
      expect(await page.locator('.link.best').count()).toBe(pathTo(view, view.best!.id).length - 1);

      const faster = view.nodes.find((n) => n.plan.includes('50%') && n.status === 'ok')!;
      await page.locator(`.node[data-id="${faster.id}"]`).click();
      const detail = page.locator('#detail');
      await expect(detail.locator('h2').textContent()).resolves.toContain(`v_${faster.id}`);
      const diff = (await detail.locator('.diff').innerText()).replace(/\s+/g, ' ');
      expect(diff).toContain('DELAY = DELAY * 0.5');
      expect(await detail.locator('.d2h-ins').count()).toBeGreaterThan(0);
      const metrics = await detail.locator('table.metrics').innerText();
      expect(metrics).toMatch(new RegExp(`score\\s+${fmt(faster.metrics.score).replace('.', '\\.')}`));
      expect(await detail.locator('#log-tail').innerText()).toContain(`score: ${faster.metrics.score.toFixed(3)}`);
      // The link to the whole log points at a file beside the page that holds the execution's log.
      const href = await detail.locator('a.log-link').getAttribute('href');
      expect(readFileSync(join(r.index, '..', href!), 'utf8')).toBe(await store.getText(faster.logRef!));
      expect(page.url()).toMatch(new RegExp(`#v_${faster.id}$`));

      // A crashed version says why.
      const crashed = view.nodes.find((n) => n.status === 'crashed');
      if (crashed) {
        await page.locator(`.node[data-id="${crashed.id}"]`).click();
        expect(await detail.innerText()).toContain('deliberate crash');
      }
      // The plot of the metric per version is drawn.
      expect(await page.locator('#plot .uplot canvas').count()).toBeGreaterThan(0);
      await expect(page.locator('pre.config').textContent()).resolves.toContain('"n_iterations": 6');
      expect(errors).toEqual([]);

      await page.locator(`.node[data-id="${faster.id}"]`).click();
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report-run.png'), fullPage: true });
      await page.screenshot({ path: join(ROOT, 'docs', 'img', 'report.png') });
    },
  );

  it.skipIf(noBrowser)(
    'shows a running run as it is now: the version being trained, its step, no result yet',
    async () => {
      // A short grace, so the worker lets go of the minute-long execution quickly at clean-up.
      const { t, model } = await setUp(slowScript, { SPEEDRUNNER_GPU_GRACE: '2 s' });
      const runId = await startRun(t, [
        `model.base_url=${model.url}`,
        'science_runner=bon',
        'n_iterations=3',
        'task.timeout_s=180',
        'timeouts.execution_heartbeat_s=3',
      ]);
      const client = await connect(t.port);
      const handle = client.workflow.getHandle(runId);
      onCleanup(() => handle.terminate('test over'));
      // Wait until the slow version's execution has reported a training step.
      await waitFor(
        'a heartbeat with a training step',
        async () => {
          const ex = await executionsInFlight(client, await handle.describe());
          return ex.some((e) => e.totalSteps === 240 && (e.step ?? 0) >= 1);
        },
        120_000,
      );

      const r = await report(t, runId);
      expect(r).toMatchObject({ source: 'query', status: 'RUNNING' });
      const { page, errors } = await openPage(r.url);
      const header = await page.locator('header').innerText();
      expect(header).toContain('RUNNING');
      expect(header).toContain('phase: executing');
      const inFlight = await page.locator('.in-flight').innerText();
      const step = Number(/v_1 executing\s+step (\d+)\/240/.exec(inFlight)?.[1]);
      expect(step).toBeGreaterThanOrEqual(1);
      expect(step).toBeLessThan(240);
      expect(await page.locator('.node.st-ok').count()).toBe(1);
      expect(await page.locator('.node.st-pending[data-id="1"]').count()).toBe(1);
      await page.locator('.node[data-id="1"]').click();
      const detail = await page.locator('#detail').innerText();
      expect(detail).toContain('STEPS = 240');
      expect(detail).toContain('Not measured yet.');
      expect(errors).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report-running.png'), fullPage: true });
    },
  );
});

describe('the HTML report of a sweep', () => {
  it.skipIf(noBrowser)("shows a heat map of the outcome per cell and links to each cell's run report", async () => {
    const { t, model } = await setUp(mixedScript);
    const file = join(t.home, 'sweep.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        matrix: { task: 'counter', model: 'scripted', science_runner: ['bon', 'aide'], seed: [1, 2] },
        overrides: ['n_iterations=1', `model.base_url=${model.url}`, 'task.env.COUNTER_STEPS=2'],
        concurrency: 2,
      }),
    );
    const submitted = await cli(t, ['sweep', file, '--detach', '--json']);
    expect(submitted.exitCode, submitted.stderr).toBe(0);
    const { sweepId } = JSON.parse(submitted.stdout) as { sweepId: string };
    const result = (await (await connect(t.port)).workflow.getHandle(sweepId).result()) as SweepResult;
    expect(result.counts.completed).toBe(4);

    const out = join(t.home, 'sweep-report');
    const res = await cli(t, ['report', sweepId, '--out', out, '--json']);
    expect(res.exitCode, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout);
    expect(r).toMatchObject({ kind: 'sweep', status: 'COMPLETED', runs: 4 });

    const store = new ArtifactStore(join(t.home, 'store'));
    const speedups = new Map<string, number[]>();
    for (const o of result.outcomes) {
      const view = (await loadRunView(store, o.runId!))!;
      speedups.set(view.science_runner, [...(speedups.get(view.science_runner) ?? []), view.best!.speedup!]);
    }
    const { page, errors } = await openPage(r.url, 'table.heat');
    // Columns are the science runners, seeds are averaged: each heat cell is the mean of two runs.
    const heat = page.locator('table.heat');
    const header = await heat.locator('tr').first().innerText();
    expect(header).toMatch(/science runner aide\s+science runner bon/);
    const cells = heat.locator('td');
    expect(await cells.count()).toBe(2);
    for (const [i, runner] of ['aide', 'bon'].entries()) {
      const xs = speedups.get(runner)!;
      expect(await cells.nth(i).innerText()).toContain(`${fmt(xs.reduce((a, b) => a + b, 0) / xs.length)}×`);
      expect(await cells.nth(i).innerText()).toContain('mean of 2');
    }
    expect(await page.locator('#cells tr[data-cell]').count()).toBe(4);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report-sweep.png'), fullPage: true });
    expect(errors).toEqual([]);

    // Each cell links to its run's own report.
    const first = result.outcomes[0];
    const cellName = first.runId!.slice(sweepId.length + 1);
    await page.locator(`#cells tr[data-cell="${cellName}"] a`).click();
    await page.waitForSelector('.node');
    await expect(page.locator('header h1').textContent()).resolves.toBe(first.runId);
  });
});

function pathTo(view: { nodes: { id: number; parent: number | null }[] }, id: number): number[] {
  const byId = new Map(view.nodes.map((n) => [n.id, n]));
  const out: number[] = [];
  for (let n = byId.get(id); n; n = n.parent === null ? undefined : byId.get(n.parent)) out.unshift(n.id);
  return out;
}
