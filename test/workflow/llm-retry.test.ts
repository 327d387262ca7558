// Temporal is the one retry layer of a model call: the real openai SDK (maxRetries 0) against the
// scripted server's faults, in an activity under the real LLM retry policy on the suite's dev server.
// Each attempt is one HTTP request; a 429's Retry-After sets the next attempt's delay; a 500 takes the
// policy's backoff; a 400 is not retried at all.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { inject } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import { modelSchema } from '../../src/config/schema';
import { callModel } from '../../src/llm/providers';
import { scriptSchema, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import { llmCallWorkflow } from './fixtures/llm-call-workflow';

const script = scriptSchema.parse({
  rules: [
    {
      name: 'flaky',
      user: 'flaky',
      faults: [{ status: 429, retry_after: 4 }, { status: 500 }],
      replies: ['answered on the third attempt'],
    },
    { name: 'bad', user: 'bad', faults: [{ status: 400 }], replies: ['never'] },
  ],
});

let server: ScriptedServer;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `llm-retry-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  server = await startScriptedServer(script);
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: `127.0.0.1:${inject('temporalPort')}` });
  const model = modelSchema.parse({ id: 'o', provider: 'openai', model: 'm', base_url: server.url });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: createRequire(import.meta.url).resolve('./fixtures/llm-call-workflow.ts'),
    activities: {
      askModel: async (user: string) =>
        (await callModel(model, { system: 's', messages: [{ role: 'user', content: user }] })).text,
    },
  });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await server?.close();
});

const run = (user: string) =>
  env.client.workflow.execute(llmCallWorkflow, {
    taskQueue,
    workflowId: `llm-${randomBytes(4).toString('hex')}`,
    args: [taskQueue, user],
  });

describe('one retry layer: Temporal', () => {
  it('429 then 500 then an answer: three HTTP requests; the first wait is the Retry-After, the second the backoff', async () => {
    expect(await run('flaky')).toBe('answered on the third attempt');
    const reqs = server.requests.filter((r) => r.rule === 'flaky');
    expect(reqs.map((r) => r.status)).toEqual([429, 500, 200]);
    const [first, second] = [reqs[1].at_ms - reqs[0].at_ms, reqs[2].at_ms - reqs[1].at_ms];
    console.log(`LLM retry waits: after 429 (Retry-After 4) ${first} ms, after 500 ${second} ms`);
    expect(first).toBeGreaterThanOrEqual(3900); // Retry-After: 4 (the policy alone would wait 1 s)
    expect(second).toBeGreaterThanOrEqual(1900); // initialInterval 1 s × backoffCoefficient 2 for the second retry
    expect(second).toBeLessThan(first);
  });

  it('400 fails the workflow as NonRetryableLlmError after one request', async () => {
    const err = await run('bad').catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause?.cause?.type).toBe('NonRetryableLlmError'); // the activity's error name, in nonRetryableErrorTypes
    expect(server.requests.filter((r) => r.rule === 'bad').map((r) => r.status)).toEqual([400]);
  });
});
