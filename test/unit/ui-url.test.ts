import { afterEach, describe, expect, it } from 'vitest';
import { uiUrl } from '../../app/cli/run';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'SPEEDRUNNER_UI_URL', 'SPEEDRUNNER_UI_PORT']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('uiUrl', () => {
  it("links the embedded dev server's UI", () => {
    delete process.env.TEMPORAL_ADDRESS;
    process.env.SPEEDRUNNER_UI_PORT = '18233';
    expect(uiUrl('run-a/b')).toBe('http://127.0.0.1:18233/namespaces/default/workflows/run-a%2Fb');
  });

  it("links Temporal Cloud's UI in the cluster's namespace", () => {
    Object.assign(process.env, { TEMPORAL_ADDRESS: 'lab.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'lab.a1b2c' });
    expect(uiUrl('run-1')).toBe('https://cloud.temporal.io/namespaces/lab.a1b2c/workflows/run-1');
  });

  it('has no link for a self-hosted cluster unless SPEEDRUNNER_UI_URL names its UI', () => {
    Object.assign(process.env, { TEMPORAL_ADDRESS: 'temporal.lab:7233', TEMPORAL_NAMESPACE: 'speedrun' });
    expect(uiUrl('run-1')).toBeUndefined();
    process.env.SPEEDRUNNER_UI_URL = 'http://temporal-ui.lab:8080/';
    expect(uiUrl('run-1')).toBe('http://temporal-ui.lab:8080/namespaces/speedrun/workflows/run-1');
  });
});
