import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import proto from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { GpuAdmission, GpuSlots, WorkerDraining } from '../../src/exec/gpu-slots';
import { resolveRunConfig } from '../../src/config/load';
import { startRun } from '../../temporal/client/run-client';
import { ROOT } from '../../src/paths';
import { loadRunView } from '../../src/store/run-view-store';
import { ArtifactStore } from '../../src/store/artifact-store';
import {
  connect,
  makeEnv,
  processesMatching,
  sleep,
  stopWorker,
  trackCleanups,
  waitFor,
  type TestEnv,
  type WorkerProcess,
} from '../helpers/harness';

// GPU slots with fake device ids on a CPU host: a probe task records the CUDA_VISIBLE_DEVICES (and, under
// torchrun, the ranks) each execution was given, and holds its GPUs until the test opens a gate file.

const onCleanup = trackCleanups();
const CLI = join(ROOT, 'bin', 'speedrunner.js');
const { PendingActivityState } = proto.temporal.api.enums.v1;

const PROBE = `"""Records the GPUs this execution was given, then holds them until the gate file exists."""
import json, os, sys, time

def record(event):
    rec = {"tag": sys.argv[1], "event": event, "cvd": os.environ.get("CUDA_VISIBLE_DEVICES", ""), "rank": os.environ.get("RANK"),
           "world": os.environ.get("WORLD_SIZE"), "local_world": os.environ.get("LOCAL_WORLD_SIZE"), "cwd": os.getcwd(), "t": time.time()}
    with open(os.environ["PROBE_RECORDS"], "a") as f:
        f.write(json.dumps(rec) + "\\n")

record("start")
while not os.path.exists(os.environ["PROBE_GATE"]):
    time.sleep(0.1)
record("end")
if os.environ.get("PROBE_MODE") == "fail":
    sys.exit(3)
print("probed: 1")
`;

const TASK = `description: Records the GPU devices each execution was given (a test task).
workspace_template: gpu_probe
fnames: [probe.py]
entry_fname: probe.py
launcher: python
gpus_per_execution: 2
timeout_s: 300
metric_patterns: { probed: '^probed: (\\d+)' }
metric_types: { probed: int }
selection_metric: harness_wall_ms
metrics_at_least: { probed: 1 }
`;

let taskRoot: string;
beforeAll(() => {
  taskRoot = mkdtempSync(join(tmpdir(), 'sr-gpu-probe-'));
  mkdirSync(join(taskRoot, 'config', 'task'), { recursive: true });
  mkdirSync(join(taskRoot, 'workspace_templates', 'gpu_probe'), { recursive: true });
  writeFileSync(join(taskRoot, 'config', 'task', 'gpu_probe.yaml'), TASK);
  writeFileSync(join(taskRoot, 'workspace_templates', 'gpu_probe', 'probe.py'), PROBE);
});
afterAll(() => rmSync(taskRoot, { recursive: true, force: true }));

interface Probe {
  t: TestEnv;
  client: Client;
  records: string;
  gate: string;
}

async function setUp(): Promise<Probe> {
  const t = makeEnv(inject('temporalPort'), { SPEEDRUNNER_TASK_PATH: taskRoot });
  const w = await worker(t, 'control');
  onCleanup(() => stopWorker(w));
  return { t, client: await connect(t.port), records: join(t.home, 'records.jsonl'), gate: join(t.home, 'gate') };
}

/** `speedrunner worker <kind>` with fake GPU ids, waited for until it is up. */
async function worker(
  t: TestEnv,
  kind: 'control' | 'gpu',
  gpus = 'none',
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  const args = kind === 'gpu' ? ['worker', 'gpu', '--gpus', gpus] : ['worker', 'control'];
  const proc = execa(process.execPath, [CLI, ...args], {
    env: { ...t.env, ...env },
    reject: false,
    all: true,
    buffer: false,
  });
  let out = '';
  proc.all?.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(`${kind} worker up`, () => {
    if (proc.exitCode !== null) throw new Error(`${kind} worker exited at start:\n${out}`);
    return out.includes('worker up');
  });
  const w = { proc, output: () => out };
  onCleanup(() => stopWorker(w, 'SIGKILL'));
  return w;
}

/** Starts a run of the probe task: the root is executed; the one draft has no applicable edit (buggy, not executed). */
async function probeRun(p: Probe, tag: string, overrides: string[] = []) {
  const saved = { home: process.env.SPEEDRUNNER_HOME, path: process.env.SPEEDRUNNER_TASK_PATH };
  process.env.SPEEDRUNNER_HOME = p.t.home;
  process.env.SPEEDRUNNER_TASK_PATH = taskRoot;
  try {
    const config = resolveRunConfig(
      [
        'task=gpu_probe',
        'model=scripted',
        'science_runner=bon',
        'n_iterations=1',
        `task.args=[${tag}]`,
        `task.env.PROBE_RECORDS=${p.records}`,
        `task.env.PROBE_GATE=${p.gate}`,
        ...overrides,
      ],
      p.t.env,
    );
    return await startRun(p.client, config, `${tag}-${Date.now()}`);
  } finally {
    process.env.SPEEDRUNNER_HOME = saved.home;
    process.env.SPEEDRUNNER_TASK_PATH = saved.path;
  }
}

interface ProbeRecord {
  tag: string;
  event: 'start' | 'end';
  cvd: string;
  rank: string | null;
  world: string | null;
  local_world: string | null;
  cwd: string;
  t: number;
}
const records = (p: Probe): ProbeRecord[] =>
  existsSync(p.records)
    ? readFileSync(p.records, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
const started = (p: Probe) => [
  ...new Set(
    records(p)
      .filter((r) => r.event === 'start')
      .map((r) => r.tag),
  ),
];
const devicesOf = (p: Probe, tag: string) => records(p).find((r) => r.tag === tag && r.event === 'start')!.cvd;

async function executeActivity(client: Client, runId: string) {
  const desc = await client.workflow.getHandle(runId).describe();
  return desc.raw.pendingActivities?.find((a) => a.activityType?.name === 'execute');
}

/** The `execute` activity's recorded attempt (history keeps the last one) and failure, from the run's history. */
async function executeAttempts(client: Client, runId: string) {
  const events = (await client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'execute')
      .map((e) => String(e.eventId)),
  );
  const starts = events.filter(
    (e) =>
      e.activityTaskStartedEventAttributes &&
      scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)),
  );
  const failures = events.filter(
    (e) =>
      e.activityTaskFailedEventAttributes &&
      scheduled.has(String(e.activityTaskFailedEventAttributes.scheduledEventId)),
  );
  return {
    attempts: starts.map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0),
    failures: failures.map((e) => e.activityTaskFailedEventAttributes!.failure!),
  };
}

describe('GpuSlots and GpuAdmission (no server)', () => {
  it('a wait is given up when its signal aborts, and a drain turns waiters away; neither leaks a device', async () => {
    const slots = new GpuSlots(['0', '1']);
    const held = await slots.acquire(2);
    const abort = new AbortController();
    const waiting = slots.acquire(1, abort.signal);
    const queued = slots.acquire(2);
    abort.abort(new Error('cancelled by the workflow'));
    await expect(waiting).rejects.toThrow('cancelled by the workflow');
    slots.release(held);
    expect(await queued).toEqual(['0', '1']); // the aborted waiter took nothing with it
    const turnedAway = slots.acquire(1);
    slots.drain();
    await expect(turnedAway).rejects.toBeInstanceOf(WorkerDraining);
    await expect(slots.acquire(0)).rejects.toBeInstanceOf(WorkerDraining);
    expect(slots.inUse).toMatchObject({ holders: 1, waiting: 0, draining: true });
  });

  it('admits one poll at a time, only while an execution like the last could start at once', async () => {
    const slots = new GpuSlots(['0', '1', '2', '3']);
    const admission = new GpuAdmission(slots);
    const never = new AbortController().signal;
    const settled = async (p: Promise<unknown>) => Promise.race([p.then(() => true), sleep(50).then(() => false)]);
    const finished = { slotInfo: { type: 'activity' as const, activityType: 'execute' }, permit: {} };

    expect(admission.tryReserveSlot()).not.toBeNull(); // a poller holds a permit
    expect(admission.tryReserveSlot()).toBeNull(); // a second poll at once would be one too many
    admission.markSlotUsed(); // an execution arrived ...
    expect(admission.tryReserveSlot()).toBeNull(); // ... and until it asks for its GPUs nothing more is polled
    const poll = admission.reserveSlot({}, never);
    expect(await settled(poll)).toBe(false);
    const a = await slots.acquire(2);
    expect(await settled(poll)).toBe(true); // two GPUs left, and the last execution needed two
    admission.markSlotUsed();
    const b = await slots.acquire(2);
    const blocked = admission.reserveSlot({}, never);
    expect(await settled(blocked)).toBe(false); // all four in use: nothing is taken to sit waiting
    slots.release(a);
    admission.releaseSlot(finished);
    expect(await settled(blocked)).toBe(true);
    admission.markSlotUsed();
    // An execution that needs more than is free waits here, and while it does no other is taken.
    const big = slots.acquire(4);
    expect(admission.tryReserveSlot()).toBeNull();
    slots.release(b);
    admission.releaseSlot(finished);
    expect(await big).toEqual(['0', '1', '2', '3']);
    expect(admission.tryReserveSlot()).toBeNull(); // all four held by it
    slots.release(await big);
    admission.releaseSlot(finished);
    expect(admission.tryReserveSlot()).not.toBeNull();
    // A poll that ends without a task gives its permit back.
    expect(admission.tryReserveSlot()).toBeNull();
    admission.releaseSlot({ permit: {} });
    expect(admission.tryReserveSlot()).not.toBeNull();
  });

  it('on a CPU-only host, executions that need no GPU run --slots at once', async () => {
    const slots = new GpuSlots([], 2);
    const admission = new GpuAdmission(slots);
    for (let i = 0; i < 2; i++) {
      expect(admission.tryReserveSlot()).not.toBeNull();
      admission.markSlotUsed();
      await slots.acquire(0);
    }
    expect(admission.tryReserveSlot()).toBeNull();
    slots.release([]);
    admission.releaseSlot({ slotInfo: { type: 'activity', activityType: 'execute' }, permit: {} });
    expect(admission.tryReserveSlot()).not.toBeNull();
  });
});

describe('a GPU worker with fake devices', () => {
  it('runs as many executions as fit, on disjoint devices, with --nproc_per_node to match, and takes no execution it cannot start', async () => {
    const p = await setUp();
    await worker(p.t, 'gpu', '0,1,2,3');
    const runs = await Promise.all(
      ['slots-a', 'slots-b', 'slots-c'].map((tag) => probeRun(p, tag, ['task.launcher=torchrun'])),
    );

    // Two executions of two GPUs each fill the four; the third is not even taken from the queue.
    const [first, second] = await waitFor(
      'two executions holding GPUs',
      () => started(p).length >= 2 && started(p),
      180_000,
    );
    await sleep(4000);
    expect(started(p)).toHaveLength(2);
    const third = runs.find((r) => !started(p).includes(r.workflowId.replace(/-\d+$/, '')))!;
    const pending = await executeActivity(p.client, third.workflowId);
    expect(pending?.state).toBe(PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED);

    // Each execution: torchrun started 2 ranks (nproc_per_node = its 2 GPUs), all seeing the same 2 devices.
    for (const tag of [first, second]) {
      const ranks = records(p).filter((r) => r.tag === tag && r.event === 'start');
      expect(ranks.map((r) => r.rank).sort()).toEqual(['0', '1']);
      expect(ranks.every((r) => r.world === '2' && r.local_world === '2' && r.cvd === ranks[0].cvd)).toBe(true);
      expect(ranks[0].cvd.split(',')).toHaveLength(2);
    }
    const sets = [devicesOf(p, first), devicesOf(p, second)].map((s) => s.split(','));
    expect(new Set([...sets[0], ...sets[1]])).toEqual(new Set(['0', '1', '2', '3']));

    writeFileSync(p.gate, '');
    for (const r of runs) expect(await r.result()).toMatchObject({ nodes: 2 });
    const thirdTag = started(p).find((tag) => tag !== first && tag !== second)!;
    expect(devicesOf(p, thirdTag).split(',')).toHaveLength(2);
    // It started only after one of the first two ended: never more than four devices in use.
    const thirdStart = Math.min(
      ...records(p)
        .filter((r) => r.tag === thirdTag && r.event === 'start')
        .map((r) => r.t),
    );
    const firstEnd = Math.min(
      ...records(p)
        .filter((r) => r.event === 'end' && r.tag !== thirdTag)
        .map((r) => r.t),
    );
    expect(thirdStart).toBeGreaterThanOrEqual(firstEnd);
  });

  it('frees the devices however an execution ends: failure, timeout, cancellation', async () => {
    const p = await setUp();
    await worker(p.t, 'gpu', '0,1');
    // Each needs both GPUs: a set not given back would make the next one wait forever.
    writeFileSync(p.gate, '');
    const failed = await probeRun(p, 'free-fail', ['task.env.PROBE_MODE=fail']);
    expect(await failed.result()).toMatchObject({ nodes: 2 });
    rmSync(p.gate);
    const timedOut = await probeRun(p, 'free-timeout', ['task.timeout_s=3']);
    expect(await timedOut.result()).toMatchObject({ nodes: 2 });
    const cancelled = await probeRun(p, 'free-cancel');
    await waitFor('the cancelled one holding the GPUs', () => started(p).includes('free-cancel'), 120_000);
    await cancelled.cancel();
    await expect(cancelled.result()).rejects.toThrow();
    await waitFor(
      'its process group killed',
      async () => (await processesMatching('probe.py free-cancel')).length === 0,
      20_000,
    );
    writeFileSync(p.gate, '');
    const last = await probeRun(p, 'free-last');
    expect(await last.result()).toMatchObject({ nodes: 2, buggy: 1 });
    for (const tag of ['free-fail', 'free-timeout', 'free-cancel', 'free-last'])
      expect(devicesOf(p, tag), tag).toBe('0,1');
    const view = (await loadRunView(new ArtifactStore(join(p.t.home, 'store')), timedOut.workflowId))!;
    expect(view.nodes[0].status).toBe('timeout');
    expect((await loadRunView(new ArtifactStore(join(p.t.home, 'store')), failed.workflowId))!.nodes[0].status).toBe(
      'crashed',
    );
  });

  it('a long wait for GPUs heartbeats (no timeout), blocks further polls, and is served first', async () => {
    const p = await setUp();
    await worker(p.t, 'gpu', '0,1,2');
    const small = await probeRun(p, 'wait-small', ['task.gpus_per_execution=1']);
    await waitFor('the small one running', () => started(p).includes('wait-small'), 120_000);
    // Needs all three GPUs: taken (one GPU-sized execution could start), then waits past its heartbeat timeout.
    const big = await probeRun(p, 'wait-big', ['task.gpus_per_execution=3', 'timeouts.execution_heartbeat_s=3']);
    const waiting = await waitFor('the big one waiting for GPUs', async () => {
      const act = await executeActivity(p.client, big.workflowId);
      const details = act?.heartbeatDetails?.payloads?.[0];
      return details && (JSON.parse(Buffer.from(details.data!).toString()) as { waiting_for_gpus?: number });
    });
    expect(waiting.waiting_for_gpus).toBe(3);
    const another = await probeRun(p, 'wait-another', ['task.gpus_per_execution=1']);
    await sleep(8000); // well past the 3 s heartbeat timeout
    expect((await executeActivity(p.client, big.workflowId))?.attempt).toBe(1);
    expect((await executeActivity(p.client, another.workflowId))?.state).toBe(
      PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
    );
    expect(started(p)).toEqual(['wait-small']);

    writeFileSync(p.gate, '');
    for (const r of [small, big, another]) expect(await r.result()).toMatchObject({ nodes: 2, buggy: 1 });
    expect(devicesOf(p, 'wait-big')).toBe('0,1,2');
    expect(started(p)).toEqual(['wait-small', 'wait-big', 'wait-another']);
  });

  it('two hosts with free GPUs each take one execution at once (none hoards)', async () => {
    const p = await setUp();
    for (const host of ['host-a', 'host-b'])
      await worker(p.t, 'gpu', '0,1', { SPEEDRUNNER_SCRATCH: join(p.t.home, host) });
    const runs = await Promise.all(['spread-1', 'spread-2'].map((tag) => probeRun(p, tag)));
    await waitFor('both executions running', () => started(p).length === 2, 180_000);
    const hosts = started(p).map((tag) =>
      records(p)
        .find((r) => r.tag === tag)!
        .cwd.includes('/host-a/')
        ? 'host-a'
        : 'host-b',
    );
    expect(hosts.sort()).toEqual(['host-a', 'host-b']);
    writeFileSync(p.gate, '');
    for (const r of runs) expect(await r.result()).toMatchObject({ nodes: 2, buggy: 1 });
  });

  it('SIGTERM: a running execution gets the grace time, then is killed and handed back; it runs again on another worker', async () => {
    const p = await setUp();
    const first = await worker(p.t, 'gpu', '0,1', { SPEEDRUNNER_GPU_GRACE: '2 s' });
    const run = await probeRun(p, 'drain-me');
    await waitFor('running', () => started(p).includes('drain-me'), 120_000);
    const stopping = Date.now();
    first.proc.kill('SIGTERM');
    await first.proc;
    expect(Date.now() - stopping).toBeLessThan(30_000);
    expect(first.output()).toContain('gpu worker stopped');
    expect(first.output()).not.toContain('Error in custom slot supplier'); // its poll's wait was aborted, as expected at shutdown
    expect(await processesMatching('probe.py drain-me')).toEqual([]);
    const handedBack = await waitFor(
      'the failure recorded on the pending activity',
      async () => (await executeActivity(p.client, run.workflowId))?.lastFailure,
    );
    expect(handedBack!.message).toMatch(
      /^the GPU worker on .* shut down while v_0 was running; it runs again on the next free GPU worker$/,
    );
    expect(handedBack!.applicationFailureInfo?.type).toBe('GpuWorkerShutdown');

    await worker(p.t, 'gpu', '0,1');
    writeFileSync(p.gate, '');
    expect(await run.result()).toMatchObject({ nodes: 2, buggy: 1 });
    expect((await executeAttempts(p.client, run.workflowId)).attempts).toEqual([2]); // the second attempt, on the new worker
  });

  it('refuses a task whose environment this host lacks, once, with a non-retryable TaskEnvironmentUnavailable', async () => {
    const p = await setUp();
    await worker(p.t, 'gpu', '0,1');
    const run = await probeRun(p, 'no-env', ['task.environment=/opt/envs/not-on-this-host']);
    await expect(run.result()).rejects.toThrow();
    const { attempts, failures } = await executeAttempts(p.client, run.workflowId);
    expect(attempts).toEqual([1]);
    expect(failures[0].applicationFailureInfo).toMatchObject({
      type: 'TaskEnvironmentUnavailable',
      nonRetryable: true,
    });
    expect(failures[0].message).toMatch(
      /^the GPU worker on .* cannot run task 'gpu_probe': task 'gpu_probe' names environment \/opt\/envs\/not-on-this-host, which has no python on this host\. `speedrunner worker gpu --check` lists what each host can run\.$/,
    );
    expect(started(p)).toEqual([]);
  });
});
