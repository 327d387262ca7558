// Worker Versioning: a run started on build A finishes on A while new runs start on build B.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDeployment, runBuild, setCurrentBuild } from '../../temporal/client/deployment';
import { workerDeployment } from '../../temporal/workers/deployment';
import { Gate, StubActivities, until, workflowTier, type WorkflowTier } from './harness';

let tier: WorkflowTier;
beforeAll(async () => void (tier = await workflowTier()));
afterAll(async () => tier?.teardown());

it('pins each run to the build it started on while a new build takes new runs', async () => {
  const deployment = `speedrunner-test-${randomBytes(3).toString('hex')}`;
  const taskQueue = `wf-${randomBytes(4).toString('hex')}`;
  const build = (id: string) => ({
    workerDeploymentOptions: workerDeployment({ SPEEDRUNNER_DEPLOYMENT: deployment, SPEEDRUNNER_BUILD_ID: id }),
  });
  const { client } = tier.env;
  // A version can be made current once the server has seen its workers poll.
  const makeCurrent = (id: string) =>
    until(`build ${id} current`, async () => {
      await setCurrentBuild(client, deployment, id).catch(() => undefined);
      return (await describeDeployment(client, deployment).catch(() => undefined))?.current === id;
    });

  const onA = new StubActivities();
  const gate = new Gate();
  onA.gates.set(1, gate);
  await tier.workers(onA, taskQueue, build('A'));
  await makeCurrent('A');
  const first = await tier.start(onA, ['science_runner=bon', 'n_iterations=3'], { taskQueue });
  await until('v_1 of the first run executing', () => onA.calls.some((c) => c.name === 'execute' && c.nodeId === 1));

  const onB = new StubActivities();
  await tier.workers(onB, taskQueue, build('B'), false);
  await makeCurrent('B');
  const second = await tier.start(onB, ['science_runner=bon', 'n_iterations=2'], { taskQueue });
  gate.open();
  expect((await first.finished()).nodes).toBe(4);
  expect((await second.finished()).nodes).toBe(3);

  expect(await runBuild(client, first.handle.workflowId)).toBe('A');
  expect(await runBuild(client, second.handle.workflowId)).toBe('B');
  // Every LLM step of the first run ran on A's workers, after B became current too; the second's on B's.
  expect(onA.count('proposeHypothesis')).toBe(3);
  expect(onB.count('proposeHypothesis')).toBe(2);
});
