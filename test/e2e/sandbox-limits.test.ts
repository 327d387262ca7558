import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPython, ROOT } from '../../src/paths';
import { probeCgroups, probeIsolation, type SandboxMode } from '../../src/exec/sandbox';
import { ATTACKS, runAttack, staleCgroups } from '../../bench/lib/containment-attacks';

// Resource exhaustion, each as a real execution through runExecution: every attack must end as one
// bounded outcome with the limit line the version's reason comes from, and leave no process or cgroup.
const PYTHON = defaultPython();
const isolated = Boolean(probeIsolation(PYTHON, false).wrap);
const cgroups = probeCgroups(PYTHON);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-limits-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const modes: SandboxMode[] = ['auto', 'off'];

describe.each(modes)('resource exhaustion, --sandbox %s', (mode) => {
  for (const attack of ATTACKS) {
    const skip =
      (attack.needs && !cgroups.controllers[attack.needs]) || (attack.isolatedOnly && (mode === 'off' || !isolated));
    it.skipIf(skip)(
      `${attack.name}: ${attack.contained}`,
      async () => {
        const r = await runAttack(attack, { python: PYTHON, dir, mode });
        expect(r.why).toBeUndefined();
        expect(r.contained).toBe(true);
        if (attack.needs)
          expect(r.limit).toMatch(
            attack.needs === 'pids'
              ? /^processes: \d+ fork\(s\) refused at the 64 process limit/
              : /^memory: out of memory at the 128 MiB limit/,
          );
        expect(staleCgroups(PYTHON)).toEqual([]);
      },
      60_000,
    );
  }
});

describe('what this host gives', () => {
  it(`cgroup controllers here: ${JSON.stringify(cgroups.controllers)} ${cgroups.reasons.join('; ')}`, () => {
    // The probe made and removed a real group: where it reports a controller, the attacks above used it.
    for (const [ctrl, version] of Object.entries(cgroups.controllers))
      expect([ctrl, version]).toEqual([ctrl, expect.stringMatching(/^v[12]$/)]);
    expect(staleCgroups(PYTHON)).toEqual([]);
  });

  it('`worker gpu --check` says it, first', async () => {
    const res = await execa(
      process.execPath,
      [join(ROOT, 'bin', 'speedrunner.js'), 'worker', 'gpu', '--gpus', 'none', '--check'],
      { env: { SPEEDRUNNER_HOME: dir }, reject: false, timeout: 120_000 },
    );
    const line = res.stdout.split('\n')[0];
    expect(line).toMatch(
      isolated
        ? /^sandbox: isolated \(namespaces: mount, pid, ipc, uts, cgroup, net; allow-list root/
        : /^sandbox: UNAVAILABLE/,
    );
    expect(line).toMatch(
      cgroups.controllers.memory
        ? new RegExp(`memory ≤ \\d+ MiB \\(cgroup ${cgroups.controllers.memory}\\)`)
        : /memory limit NOT enforced here/,
    );
    expect(line).toContain('workspace ≤ 20480 MiB');
  }, 120_000);
});
