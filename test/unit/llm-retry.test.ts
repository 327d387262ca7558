// One retry layer: the real openai and anthropic SDKs against our scripted HTTP server, which answers
// 429 with Retry-After, 500, 400, or never. Each call must be exactly one HTTP request (the SDK does
// not retry); the error tells Temporal whether and when to retry; a send left unanswered is counted
// as unconfirmed by the attempt that finally gets the reply.
import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { modelSchema, type ModelConfig } from '../../src/config/schema';
import { scriptSchema, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import { callModel, NonRetryableLlmError } from '../../src/llm/providers';
import { cachedChat, type CallSite } from '../../src/llm/cached-chat';
import { MAX_RETRY_AFTER_MS, RETRYABLE_LLM_ERROR, retryAfterMs, sentUnanswered } from '../../src/llm/llm-errors';
import { estimatedUsd } from '../../src/llm/unconfirmed';
import { fitToModel } from '../../src/llm/context-fit';
import { addUsage, describeUsage, noUsage } from '../../core/usage';
import { ArtifactStore } from '../../src/store/artifact-store';
import { ROOT } from '../../src/paths';

const script = scriptSchema.parse({
  rules: [
    { name: 'limited', user: 'limited', faults: [{ status: 429, retry_after: 7 }], replies: ['after the limit'] },
    {
      name: 'limited-ms',
      user: 'millis',
      faults: [{ status: 429, retry_after_ms: 1500 }],
      replies: ['after the ms limit'],
    },
    {
      name: 'broken',
      user: 'broken',
      faults: [{ status: 500 }, { status: 503, retry_after: 2 }],
      replies: ['after the outage'],
    },
    {
      name: 'bad',
      user: 'bad',
      faults: [{ status: 400 }, { status: 401 }, { status: 404 }, { status: 422 }, { status: 403 }],
      replies: ['never'],
    },
    { name: 'stalled', user: 'stalled', faults: [{ hang: true }], replies: ['late answer'] },
    { name: 'ok', replies: ['fine'] },
  ],
});

let server: ScriptedServer;
let dir: string;
beforeEach(async () => {
  server = await startScriptedServer(script);
  dir = mkdtempSync(join(tmpdir(), 'sr-llm-retry-'));
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const models = (over: Partial<ModelConfig> = {}): ModelConfig[] => [
  modelSchema.parse({ id: 'o', provider: 'openai', model: 'm', base_url: server.url, ...over }),
  modelSchema.parse({
    id: 'a',
    provider: 'anthropic',
    model: 'm',
    base_url: server.url.replace(/\/v1$/, ''),
    api_key_env: 'SR_TEST_ANTHROPIC_KEY',
    ...over,
  }),
];
process.env.SR_TEST_ANTHROPIC_KEY ??= 'test-key';

/** A fresh server, so each provider meets a rule's faults from its first one. */
async function fresh(provider: 'openai' | 'anthropic', over: Partial<ModelConfig> = {}): Promise<ModelConfig> {
  await server.close();
  server = await startScriptedServer(script);
  return models(over).find((m) => m.provider === provider)!;
}

const ask = (user: string) => ({ system: 'You are a test.', messages: [{ role: 'user' as const, content: user }] });
const requestsOf = (rule: string) => server.requests.filter((r) => r.rule === rule);

describe('one HTTP request per attempt, through the real SDKs', () => {
  it('429 with Retry-After: one request, a retryable failure whose nextRetryDelay is the header', async () => {
    for (const provider of ['openai', 'anthropic'] as const) {
      const m = await fresh(provider);
      const err = await callModel(m, ask('limited')).catch((e) => e);
      expect(err, provider).toBeInstanceOf(ApplicationFailure);
      expect(err.type).toBe(RETRYABLE_LLM_ERROR);
      expect(err.nonRetryable).toBe(false);
      expect(err.nextRetryDelay).toBe(7000);
      expect(err.message).toContain('HTTP 429');
      expect(requestsOf('limited')).toHaveLength(1);
      // the fault was the rule's first match only: the next request (Temporal's retry) is answered
      expect((await callModel(m, ask('limited'))).text).toBe('after the limit');
      expect(requestsOf('limited').map((r) => [r.protocol, r.status])).toEqual([
        [provider, 429],
        [provider, 200],
      ]);
    }
  });

  it('retry-after-ms (OpenAI) is honoured to the millisecond', async () => {
    const [openai] = models();
    const err = await callModel(openai, ask('millis')).catch((e) => e);
    expect(err.nextRetryDelay).toBe(1500);
    expect(requestsOf('limited-ms')).toHaveLength(1);
  });

  it('5xx: one request each, retryable; without Retry-After the policy backoff applies (no nextRetryDelay)', async () => {
    const [openai, anthropic] = models();
    const e500 = await callModel(openai, ask('broken')).catch((e) => e);
    expect(e500).toBeInstanceOf(ApplicationFailure);
    expect(sentUnanswered(e500)).toBe(false);
    expect(e500.type).toBe(RETRYABLE_LLM_ERROR);
    expect(e500.nextRetryDelay).toBeUndefined();
    expect(e500.message).toContain('HTTP 500');
    const e503 = await callModel(anthropic, ask('broken')).catch((e) => e);
    expect(e503.nextRetryDelay).toBe(2000);
    expect(e503.message).toContain('HTTP 503');
    expect((await callModel(openai, ask('broken'))).text).toBe('after the outage');
    expect(requestsOf('broken').map((r) => [r.protocol, r.status])).toEqual([
      ['openai', 500],
      ['anthropic', 503],
      ['openai', 200],
    ]);
  });

  it('400/401/403/404/422: NonRetryableLlmError (its type name kept), one request each', async () => {
    const [openai, anthropic] = models();
    const statuses: number[] = [];
    for (const m of [openai, anthropic, openai, anthropic, openai]) {
      const err = await callModel(m, ask('bad')).catch((e) => e);
      expect(err).toBeInstanceOf(NonRetryableLlmError);
      expect(err.name).toBe('NonRetryableLlmError');
      statuses.push(Number(/HTTP (\d+)/.exec(err.message)![1]));
    }
    expect(statuses).toEqual([400, 401, 404, 422, 403]);
    expect(requestsOf('bad')).toHaveLength(5);
  });

  it('a request that is never answered ends at request_timeout_s, once, as retryable and sent-unanswered', async () => {
    for (const provider of ['openai', 'anthropic'] as const) {
      const m = await fresh(provider, { request_timeout_s: 0.3 });
      const err = await callModel(m, ask('stalled')).catch((e) => e);
      expect(err, provider).toBeInstanceOf(ApplicationFailure);
      expect(err.type).toBe(RETRYABLE_LLM_ERROR);
      expect(err.message).toContain('no answer');
      expect(sentUnanswered(err)).toBe(true);
      expect(requestsOf('stalled').map((r) => r.status)).toEqual([null]);
    }
  });
});

describe('retryAfterMs', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it('reads seconds, HTTP dates and retry-after-ms; ignores junk and waits beyond the cap', () => {
    expect(retryAfterMs(h({ 'retry-after': '3' }))).toBe(3000);
    expect(retryAfterMs(h({ 'retry-after': '0.25' }))).toBe(250);
    expect(retryAfterMs(h({ 'retry-after-ms': '120', 'retry-after': '9' }))).toBe(120);
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(retryAfterMs(h({ 'retry-after': 'Wed, 02 Dec 2026 10:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(h({ 'retry-after': 'Wed, 02 Dec 2026 09:00:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(h({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(h({}))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs(h({ 'retry-after': String(MAX_RETRY_AFTER_MS / 1000 + 1) }))).toBeUndefined();
  });
});

describe('unconfirmed calls', () => {
  const site: CallSite = { runId: 'run-u', nodeId: 1, role: 'ideator', attempt: 0 };
  const priced = (m: ModelConfig) => ({
    ...m,
    request_timeout_s: 0.3,
    max_tokens: 1000,
    prices: { input: 2, output: 8 },
  });

  it('a send that timed out is counted, at its estimated price, by the attempt that gets the reply', async () => {
    for (const provider of ['openai', 'anthropic'] as const) {
      const m = priced(await fresh(provider));
      const store = new ArtifactStore(join(dir, `store-${m.provider}`));
      const s = { ...site, runId: `run-${m.provider}` };
      const first = await cachedChat(store, m, ask('stalled please'), s).catch((e) => e);
      expect(first).toBeInstanceOf(ApplicationFailure); // attempt 1: sent, never answered
      expect(sentUnanswered(new Error('x'))).toBe(false);

      const reply = await cachedChat(store, m, ask('stalled please'), s); // attempt 2 (the Temporal retry)
      expect(reply.text).toBe('late answer');
      const estimate = estimatedUsd(m, fitToModel(m, ask('stalled please')).tokens);
      expect(estimate).toBeGreaterThan(1000 * 8e-6); // output counted as all of max_tokens
      const answered = Math.round(((reply.usage.input_tokens * 2 + reply.usage.output_tokens * 8) / 1e6) * 1e6) / 1e6;
      expect(reply.usage.unconfirmed_calls).toBe(1);
      expect(reply.usage.unconfirmed_usd).toBe(estimate);
      expect(reply.usage.cost_usd).toBeCloseTo(answered + estimate, 6);
      expect(reply.usage.calls).toBe(1);

      // the stored reply answers a replay first: it reads the cache and counts nothing twice
      const again = await cachedChat(store, m, ask('stalled please'), s);
      expect(again.cached).toBe(true);
      expect(again.usage).toEqual(reply.usage);
      // one request per attempt (the hang, the answer); the cached replay sent nothing
      expect(requestsOf('stalled').map((r) => r.status)).toEqual([null, 200]);
    }
  });

  it('a worker that dies with the request in flight leaves its send counted by the next attempt', async () => {
    const m = priced(await fresh('openai'));
    const root = join(dir, 'store-dead-worker');
    const args = [
      root,
      JSON.stringify({ ...m, request_timeout_s: 600 }),
      JSON.stringify(ask('stalled please')),
      JSON.stringify(site),
    ];
    const worker = spawn(process.execPath, [join(ROOT, 'test/fixtures/llm/call-and-wait.mjs'), ...args], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await vi.waitFor(() => expect(requestsOf('stalled')).toHaveLength(1), { timeout: 60_000, interval: 50 });
    worker.kill('SIGKILL'); // the control worker dies: no reply, no error handler, only the marker it wrote
    await exited;

    const reply = await cachedChat(new ArtifactStore(root), m, ask('stalled please'), site); // Temporal's retry, elsewhere
    expect(reply.text).toBe('late answer');
    expect(reply.usage.unconfirmed_calls).toBe(1);
    expect(reply.usage.unconfirmed_usd).toBe(estimatedUsd(m, fitToModel(m, ask('stalled please')).tokens));
    expect(requestsOf('stalled').map((r) => r.status)).toEqual([null, 200]);
  });

  it('an error answer (429, 500) is not billed, so it is not unconfirmed', async () => {
    const [openai] = models().map(priced);
    const store = new ArtifactStore(join(dir, 'store-errors'));
    await expect(cachedChat(store, openai, ask('broken'), site)).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(cachedChat(store, openai, ask('broken'), site)).rejects.toBeInstanceOf(ApplicationFailure);
    const reply = await cachedChat(store, openai, ask('broken'), site);
    expect(reply.text).toBe('after the outage');
    expect(reply.usage.unconfirmed_calls).toBeUndefined();
    expect(requestsOf('broken')).toHaveLength(3);
  });

  it('a refused connection was never sent: not unconfirmed', async () => {
    const [openai] = models().map(priced);
    await server.close();
    const err = await callModel(openai, ask('ok')).catch((e) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(sentUnanswered(err)).toBe(false);
    const store = new ArtifactStore(join(dir, 'store-refused'));
    await cachedChat(store, openai, ask('ok'), site).catch(() => undefined);
    server = await startScriptedServer(script);
    const reply = await cachedChat(store, { ...openai, base_url: server.url }, ask('ok'), site);
    expect(reply.usage.unconfirmed_calls).toBeUndefined();
  });
});

describe('TokenUsage stays additive', () => {
  it('old usage without the unconfirmed fields sums with new usage; the fields appear only when non-zero', () => {
    const old = { input_tokens: 10, output_tokens: 5, cached_input_tokens: 0, cost_usd: 0.5, calls: 1 };
    expect(addUsage(old, old)).toEqual({
      input_tokens: 20,
      output_tokens: 10,
      cached_input_tokens: 0,
      cost_usd: 1,
      calls: 2,
    });
    const withUnconfirmed = { ...noUsage(), cost_usd: 0.25, unconfirmed_calls: 1, unconfirmed_usd: 0.25 };
    const sum = addUsage(addUsage(old, withUnconfirmed), withUnconfirmed);
    expect(sum).toEqual({
      input_tokens: 10,
      output_tokens: 5,
      cached_input_tokens: 0,
      cost_usd: 1,
      calls: 1,
      unconfirmed_calls: 2,
      unconfirmed_usd: 0.5,
    });
    expect(describeUsage(sum)).toBe('1 calls, 10 in / 5 out tokens, $1.0000 (incl. 2 unconfirmed, est. $0.5000)');
    expect(describeUsage(old)).toBe('1 calls, 10 in / 5 out tokens, $0.5000');
  });
});
