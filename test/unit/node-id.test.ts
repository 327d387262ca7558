import { describe, expect, it } from 'vitest';
import { parseNodeId } from '../../app/cli/node-id';
import { lineageIds } from '../../app/cli/fork';
import { forkState } from '../../temporal/client/fork';
import { ConfigError } from '../../src/config/load';
import type { NodeRecord, RunView } from '../../core/types';
import { noUsage } from '../../core/usage';

describe('node ids on the command line', () => {
  it('takes 2 and v_2 (as every output names versions) alike', () => {
    expect(parseNodeId('2')).toBe(2);
    expect(parseNodeId('v_2')).toBe(2);
    expect(parseNodeId('V_12')).toBe(12);
    expect(parseNodeId(' v2 ')).toBe(2);
  });

  it('refuses anything else with exit-2 error naming both spellings', () => {
    for (const bad of ['v_', 'x2', '-1', '2.5', '']) {
      expect(() => parseNodeId(bad)).toThrow(ConfigError);
    }
    expect(() => parseNodeId('two', '--node')).toThrow("--node is a version number like 2 or v_2, not 'two'");
  });
});

describe('a fork says which old version each new one is', () => {
  const node = (id: number, parent: number | null): NodeRecord => ({
    id,
    parent,
    stage: parent === null ? 'root' : 'improve',
    iteration: id,
    plan: `p${id}`,
    status: 'ok',
    valid: true,
    metrics: {},
    timings: { started_at: '', llm_ms: 0, exec_ms: 0 },
    usage: noUsage(),
  });
  const view = {
    runId: 'r',
    nodes: [node(0, null), node(1, 0), node(2, 0), node(3, 2), node(4, 3)],
  } as unknown as RunView;

  it('lists the ancestry root first, in the order forkState numbers it', () => {
    expect(lineageIds(view, 4)).toEqual([0, 2, 3, 4]);
    const carried = forkState(view, 4, 0);
    expect(carried.nodes!.map((n) => n.plan)).toEqual(lineageIds(view, 4).map((id) => `p${id}`));
    expect(lineageIds(view, 0)).toEqual([0]);
  });
});
