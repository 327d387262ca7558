#!/usr/bin/env node
// The `speedrunner` CLI: TypeScript sources run through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
await import('../app/cli/main.ts');
