#!/usr/bin/env node
// The `speedrunner` CLI. Runs the prebuilt bundle (scripts/build-cli.mjs; `npm run setup` builds it)
// when it was built from the sources as they are now: plain JavaScript, no transpiling at start-up.
// Otherwise (sources edited since, no bundle yet, SPEEDRUNNER_NO_BUNDLE=1) the TypeScript sources
// run through tsx, as before: slower to start, never stale.
import { pathToFileURL } from 'node:url';
import { currentBundle } from '../scripts/build-cli.mjs';

const bundle = process.env.SPEEDRUNNER_NO_BUNDLE === '1' ? undefined : currentBundle();
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../app/cli/main.ts');
}
