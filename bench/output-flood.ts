// Output floods against the real runner: time from a flood's first byte to the execution stopped,
// and the peak RSS of the (worker) process that ran it, one fresh process per case; plus the time to
// take 100 MB without a newline, and reading a 600 MiB stored log for metrics (past V8's string limit).
// Stand-alone: `npx tsx bench/output-flood.ts` (JSON on stdout). Not part of `npm run bench`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIB } from '../src/exec/capped-log';
import { runExecution } from '../src/exec/run-execution';
import { executeVersion } from '../src/exec/execute-version';
import { ArtifactStore } from '../src/store/artifact-store';
import { taskSchema } from '../src/config/task';
import { extractMetrics } from '../src/metrics/analyze';
import { StoredLog } from '../src/metrics/stored-log';
import { defaultPython } from '../src/paths';

const PYTHON = defaultPython();
const floodScript = (newlines: boolean) =>
  [
    'import sys, time',
    `block = ${newlines ? '(b"x" * 99 + b"\\n") * 10486' : 'b"y" * 1048576'}`,
    'print(f"flood starts {time.time()}", flush=True)',
    'for _ in range(2048):',
    '    sys.stdout.buffer.write(block)',
  ].join('\n');

const rssMib = () => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;

async function runCase(name: string): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'sr-flood-bench-'));
  const rssBefore = rssMib();
  try {
    const env = { PATH: [dirname(PYTHON), '/usr/bin', '/bin'].join(':'), LANG: 'C.UTF-8', PYTHONUNBUFFERED: '1' };
    const exec = (code: string, capMib: number, onLine?: (l: string) => void) => {
      writeFileSync(join(dir, 'script.py'), code);
      return runExecution({
        argv: [PYTHON, 'script.py'],
        cwd: dir,
        env,
        timeoutMs: 120_000,
        logPath: join(dir, 'out.log'),
        python: PYTHON,
        maxOutputBytes: capMib * MIB,
        onLine,
      });
    };
    if (name.startsWith('flood-')) {
      const [, kind, cap] = name.split('-'); // flood-<lines|bytes>-<cap MiB>
      let floodStart = 0;
      const r = await exec(floodScript(kind === 'lines'), Number(cap), (l) => {
        const m = /^flood starts ([\d.]+)/.exec(l);
        if (m) floodStart = Number(m[1]);
      });
      const stoppedMs = Date.now() - floodStart * 1000; // to runExecution returning, its log written
      return {
        case: name,
        outcome: r.outcome,
        wall_ms: r.wallMs,
        flood_to_stopped_ms: Math.round(stoppedMs),
        log_bytes: statSync(join(dir, 'out.log')).size,
        rss_before_mib: rssBefore,
        peak_rss_mib: rssMib(),
      };
    }
    if (name.startsWith('version-flood-')) {
      // The GPU worker's whole path: materialize, run, store the capped log, clean scratch.
      const cap = Number(name.split('-').pop());
      process.env.SPEEDRUNNER_SCRATCH = join(dir, 'scratch');
      const store = new ArtifactStore(join(dir, 'store'));
      const snapshot = await store.putSnapshot({ 'train.py': floodScript(false) });
      const task = taskSchema.parse({
        id: 't',
        description: 'd',
        workspace_template: 'w',
        fnames: ['train.py'],
        entry_fname: 'train.py',
        timeout_s: 120,
        selection_metric: 'x',
        max_output_mb: cap,
      });
      const started = performance.now();
      const r = await executeVersion(store, { runId: 'bench', nodeId: 1, snapshot, task, data: { val_tokens: 1 } }, []);
      return {
        case: name,
        outcome: r.outcome,
        wall_ms: r.wallMs,
        execute_version_ms: Math.round(performance.now() - started),
        stored_log_bytes: (await store.getBlob(r.logRef)).length,
        scratch_left: existsSync(join(dir, 'scratch', 'bench', 'v_1')),
        rss_before_mib: rssBefore,
        peak_rss_mib: rssMib(),
      };
    }
    if (name === 'no-newline-100mb') {
      let lines = 0;
      const r = await exec('import sys\nsys.stdout.buffer.write(b"z" * 100_000_000)\n', 256, () => lines++);
      const base = await exec('print("hello")\n', 256);
      return {
        case: name,
        outcome: r.outcome,
        wall_ms: r.wallMs,
        hello_wall_ms: base.wallMs,
        lines,
        peak_rss_mib: rssMib(),
      };
    }
    if (name === 'stored-log-600mib') {
      const line = Buffer.from(`step:1/2 train_time:1ms step_avg:1ms ${'p'.repeat(60)}\n`);
      const bytes = Buffer.concat([
        Buffer.alloc(600 * MIB, line),
        Buffer.from('\nstep:2/2 val_loss:3.2700 train_time:2000ms step_avg:1000ms\n'),
      ]);
      let whole = 'ok';
      try {
        bytes.toString('utf8');
      } catch (err) {
        whole = (err as { code?: string }).code ?? String(err);
      }
      const task = taskSchema.parse({
        id: 't',
        description: 'd',
        workspace_template: 'w',
        fnames: ['a'],
        entry_fname: 'a',
        timeout_s: 1,
        selection_metric: 'train_time',
        metric_parser: 'speedrun',
      });
      const started = performance.now();
      const metrics = extractMetrics(task, new StoredLog(bytes).lines());
      return {
        case: name,
        whole_log_as_string: whole,
        metrics,
        extract_ms: Math.round(performance.now() - started),
        peak_rss_mib: rssMib(),
      };
    }
    throw new Error(`unknown case ${name}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CASES = [
  'flood-lines-8',
  'flood-bytes-8',
  'flood-lines-64',
  'flood-bytes-64',
  'version-flood-8',
  'version-flood-64',
  'no-newline-100mb',
  'stored-log-600mib',
];
const only = process.argv[2];
if (only) {
  console.log(JSON.stringify(await runCase(only)));
} else {
  const me = fileURLToPath(import.meta.url);
  const results = CASES.map((c) =>
    JSON.parse(
      execFileSync(process.execPath, [...process.execArgv, me, c], { encoding: 'utf8', maxBuffer: 1 << 20 })
        .trim()
        .split('\n')
        .pop()!,
    ),
  );
  console.log(JSON.stringify({ node: process.version, results }, null, 1));
}
