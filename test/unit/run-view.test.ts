import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../src/config/load';
import { normalizeRunState } from '../../core/run-state';
import { budgetReached, runFsrOf, runResult, runSummary, searchDone, stopReason } from '../../core/run-view';
import type { NodeRecord } from '../../core/types';
import { noUsage } from '../../core/usage';

const node = (
  id: number,
  status: NodeRecord['status'],
  metrics: Record<string, number>,
  valid = status === 'ok',
): NodeRecord => ({
  id,
  parent: id === 0 ? null : 0,
  stage: id === 0 ? 'root' : 'draft',
  iteration: id === 0 ? 0 : 1,
  plan: '',
  status,
  valid,
  metrics,
  timings: { started_at: '', llm_ms: 0, exec_ms: 0 },
  usage: noUsage(),
});

describe('normalizeRunState', () => {
  it('fills every default for a new run and keeps what a continued run or a fork carries', () => {
    const fresh = normalizeRunState(undefined, 7, 1000);
    expect(fresh).toEqual({
      nodes: [],
      iteration: 0,
      rng: 7,
      usage: noUsage(),
      paused: false,
      extra_iterations: 0,
      measured: [],
      configRef: '',
      device_ms: 0,
      started_ms: 1000,
      retry_queue: [],
    });
    const fork = normalizeRunState(
      { nodes: [node(0, 'ok', {})], current: 0, forked_from: { runId: 'r', nodeId: 3 } },
      1,
      5,
    );
    expect(fork).toMatchObject({
      current: 0,
      forked_from: { runId: 'r', nodeId: 3 },
      configRef: '',
      started_ms: 5,
      rng: 1,
    });
    const carried = normalizeRunState(
      { ...fresh, iteration: 4, started_ms: 10, configRef: 'c', extra_iterations: 2 },
      99,
      20,
    );
    expect(carried).toMatchObject({ iteration: 4, started_ms: 10, configRef: 'c', extra_iterations: 2, rng: 7 });
  });
});

describe('run view', () => {
  const config = resolveRunConfig(['task=collatz', 'model=scripted', 'science_runner=bon', 'n_iterations=3'], {});

  it('summarizes the best valid version with its speed-up, and the iterations an extend added', () => {
    const state = normalizeRunState(
      {
        nodes: [
          node(0, 'ok', { harness_wall_ms: 100 }),
          node(1, 'ok', { harness_wall_ms: 50 }),
          node(2, 'crashed', {}),
        ],
      },
      0,
      0,
    );
    state.extra_iterations = 2;
    const s = runSummary(state, config, 'run-1', 'coding');
    expect(s).toMatchObject({
      runId: 'run-1',
      phase: 'coding',
      n_iterations: 5,
      best: { id: 1, metric: 50, speedup: 2 },
    });
    expect(s.fsr).toBeUndefined(); // collatz has no human records
    expect(runResult(state, s)).toMatchObject({ runId: 'run-1', nodes: 3, buggy: 1, best: { id: 1 } });
  });

  it('says which budget ran out, and none while all hold', () => {
    const state = normalizeRunState(undefined, 0, 0);
    expect(budgetReached(state, {}, 10_000)).toBeUndefined();
    state.usage = { ...noUsage(), cost_usd: 1.5 };
    expect(budgetReached(state, { usd: 1 }, 0)).toBe('budget: LLM spend $1.50 reached budget.usd=1');
    state.device_ms = 3000;
    expect(budgetReached(state, { gpu_seconds: 3 }, 0)).toBe('budget: 3.0 GPU-seconds reached budget.gpu_seconds=3');
    expect(budgetReached(state, { wall_clock_s: 60 }, 59_000)).toBeUndefined();
    expect(budgetReached(state, { wall_clock_s: 60 }, 61_000)).toBe(
      'budget: 61 s of wall clock reached budget.wall_clock_s=60',
    );
  });

  it('is done when stopped, out of iterations or at the node cap', () => {
    const state = normalizeRunState({ nodes: [node(0, 'ok', {})] }, 0, 0);
    expect(searchDone(state, config)).toBe(false);
    expect(searchDone({ ...state, iteration: 3 }, config)).toBe(true);
    expect(searchDone({ ...state, stopped: 'x' }, config)).toBe(true);
    const capped = { ...config, science_runner: { ...config.science_runner, max_n_nodes: 1 } };
    expect(searchDone({ ...state, nodes: [node(0, 'ok', {}), node(1, 'ok', {})] }, capped)).toBe(true);
  });

  it('says the node cap stopped the run, and gives no reason for a run that used its iterations', () => {
    const capped = { ...config, science_runner: { ...config.science_runner, max_n_nodes: 1 } };
    const atCap = normalizeRunState({ nodes: [node(0, 'ok', {}), node(1, 'ok', {})], iteration: 1 }, 0, 0);
    expect(stopReason(atCap, capped)).toBe('max_n_nodes=1 reached at iteration 1/3');
    expect(runSummary(atCap, capped, 'r', 'done').stopped).toBe(stopReason(atCap, capped));
    expect(runResult(atCap, runSummary(atCap, capped, 'r', 'done')).stopped).toMatch(/^max_n_nodes=1 reached/);
    expect(stopReason({ ...atCap, iteration: 3 }, capped)).toBeUndefined(); // the last iteration filled the cap: a normal end
    expect(stopReason(atCap, config)).toBeUndefined();
    expect(stopReason({ ...atCap, stopped: 'stopped by an operator' }, capped)).toBe('stopped by an operator');
  });

  it("computes a record task's FSR from its scored versions", () => {
    const records = {
      ...config,
      task: {
        ...config.task,
        records: { metric: 'train_time', baseline: 1000, target: 800, excluded_from_scores: false },
        metrics_at_most: { val_loss: 3.28 },
      },
    };
    const state = normalizeRunState(
      {
        nodes: [
          node(0, 'ok', { train_time: 1000, val_loss: 3.27 }),
          node(1, 'ok', { train_time: 900, val_loss: 3.275 }),
        ],
      },
      0,
      0,
    );
    expect(runFsrOf(state, records as typeof config)).toBeCloseTo(0.5);
  });
});
