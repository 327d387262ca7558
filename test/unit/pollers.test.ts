import { describe, expect, it } from 'vitest';
import { livePollers } from '../../temporal/client/pollers';

describe('live pollers', () => {
  const alive = new Set([100]);
  const live = (identities: (string | undefined)[]) =>
    livePollers(
      identities.map((identity) => ({ identity })),
      'here',
      (pid) => alive.has(pid),
    ).map((p) => p.identity);

  it("drops this host's pollers whose process is gone, keeps every other", () => {
    expect(live(['100@here', '200@here', '200@there', 'worker-gpu-7', undefined])).toEqual([
      '100@here',
      '200@there',
      'worker-gpu-7',
      undefined,
    ]);
  });

  it('asks the OS about this process', () => {
    expect(livePollers([{ identity: `${process.pid}@here` }], 'here')).toHaveLength(1);
  });
});
