// `speedrunner deployment`: which harness build new runs start on (Worker Versioning).
import type { Command } from 'commander';
import { connectClient } from '../../temporal/client/connection';
import { describeDeployment, setCurrentBuild } from '../../temporal/client/deployment';
import { deploymentName } from '../../temporal/workers/deployment';

export function registerDeploymentCommands(program: Command): void {
  const deployment = program
    .command('deployment')
    .description('Worker Versioning: control workers started with SPEEDRUNNER_BUILD_ID pin each run to their build');
  deployment
    .command('current')
    .argument('<buildId>', 'the build new runs start on')
    .description('make a build the current version (runs in flight stay on theirs)')
    .action(async (buildId: string) => {
      const client = await connectClient();
      await setCurrentBuild(client, deploymentName(), buildId);
      console.log(`new runs of deployment ${deploymentName()} start on build ${buildId}`);
    });
  deployment
    .command('show')
    .option('--json', 'machine-readable output')
    .description("the deployment's versions and the current one")
    .action(async (opts: { json?: boolean }) => {
      const d = await describeDeployment(await connectClient(), deploymentName());
      if (opts.json) return console.log(JSON.stringify({ deployment: deploymentName(), ...d }));
      console.log(`deployment ${deploymentName()}: current build ${d.current ?? '(none: unversioned workers)'}`);
      for (const v of d.versions) console.log(`  ${v.buildId}  ${v.status}`);
    });
}
