import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, startDevServer, stopDevServer } from '../../temporal/client/dev-server';
import { workflowBundlePath } from '../../temporal/workers/bundle';

/** One real Temporal dev server for the whole suite, on free ports, in a throw-away home dir. */
export default async function setup(project: TestProject) {
  const home = mkdtempSync(join(tmpdir(), 'speedrunner-test-server-'));
  const port = await freePort();
  const uiPort = await freePort();
  await startDevServer({ home, port, uiPort, headless: true, retentionDays: 30 });
  await workflowBundlePath(); // built once here instead of in every worker process
  project.provide('temporalPort', port);
  project.provide('serverHome', home);
  return async () => {
    await stopDevServer(home);
    rmSync(home, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalPort: number;
    serverHome: string;
  }
}
