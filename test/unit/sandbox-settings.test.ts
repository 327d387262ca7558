import { describe, it, expect } from 'vitest';
import { totalmem } from 'node:os';
import { parseLimitLine, READABLE_ENV, SANDBOX_DEFAULTS, sandboxSettings } from '../../src/exec/sandbox';

describe('sandbox settings from the environment', () => {
  it('defaults: cgroup memory at 3/4 of this host, 8192 processes, a 20 GiB workspace; nothing else readable', () => {
    const s = sandboxSettings({});
    expect(s).toEqual({
      mode: 'auto',
      network: false,
      limits: { cpu_s: undefined, memory_mb: undefined, ...SANDBOX_DEFAULTS },
      readable: [],
    });
    expect(SANDBOX_DEFAULTS.memory_max_mb).toBe(Math.floor((totalmem() / 2 ** 20) * 0.75));
  });

  it('SPEEDRUNNER_SANDBOX_* set each limit and the extra readable paths; a bad number is refused', () => {
    const s = sandboxSettings({
      SPEEDRUNNER_SANDBOX_MEMORY_MAX_MB: '4096',
      SPEEDRUNNER_SANDBOX_PIDS_MAX: '256',
      SPEEDRUNNER_SANDBOX_DISK_MB: '100',
      SPEEDRUNNER_SANDBOX_READABLE: '/models:/cache/hf',
    });
    expect(s.limits).toMatchObject({ memory_max_mb: 4096, pids_max: 256, disk_mb: 100 });
    expect(s.readable).toEqual(['/models', '/cache/hf']);
    expect(() => sandboxSettings({ SPEEDRUNNER_SANDBOX_PIDS_MAX: 'many' })).toThrow(
      /SPEEDRUNNER_SANDBOX_PIDS_MAX must be a positive number/,
    );
  });

  it('an execution may read what its environment names: data globs and the tiktoken cache', () => {
    expect(READABLE_ENV).toEqual(['NANOGPT_TRAIN_FILES', 'NANOGPT_VAL_FILES', 'TIKTOKEN_CACHE_DIR']);
  });
});

describe('parseLimitLine', () => {
  it("reads the guard's limit lines, and nothing else", () => {
    expect(
      parseLimitLine(
        '[speedrunner sandbox] limit: memory: out of memory at the 128 MiB limit; 1 process(es) OOM-killed\n',
      ),
    ).toEqual({ kind: 'memory', detail: 'out of memory at the 128 MiB limit; 1 process(es) OOM-killed' });
    expect(
      parseLimitLine('[speedrunner sandbox] limit: processes: 12 fork(s) refused at the 64 process limit')?.kind,
    ).toBe('processes');
    expect(
      parseLimitLine('[speedrunner sandbox] limit: disk: a file reached the 64 MiB limit (RLIMIT_FSIZE)')?.kind,
    ).toBe('disk');
    expect(parseLimitLine('step 10 loss 3.2')).toBeUndefined();
    expect(parseLimitLine('[speedrunner sandbox] setup failed: mount /tmp: EPERM')).toBeUndefined();
  });
});
