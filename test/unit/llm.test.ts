import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelSchema, type ModelConfig } from '../../src/config/schema';
import { scriptSchema, startScriptedServer, loadScript, type ScriptedServer } from '../../src/llm/scripted-server';
import { callModel, costUsd, NonRetryableLlmError } from '../../src/llm/providers';
import { cachedChat, requestKey, type CallSite } from '../../src/llm/cached-chat';
import type { ChatRequest } from '../../src/llm/types';
import { ArtifactStore } from '../../src/store/artifact-store';
import { ROOT } from '../../src/paths';
import YAML from 'yaml';

const SECRET = 'sk-secret-xyz';

const script = scriptSchema.parse({
  rules: [
    { name: 'ideator', system: 'ideator', replies: ['idea one', 'idea two', 'idea three'] },
    { name: 'coder-x', system: 'coder', user: 'plan X', replies: ['code for X'] },
    { name: 'coder-any', system: '^You are the coder', replies: ['generic code'] },
  ],
});

let server: ScriptedServer;
let root: string; // http://127.0.0.1:port, without /v1
let savedKey: string | undefined;
// A fresh server per test: rule counters start at zero, so every test sees the same reply order.
beforeEach(async () => {
  savedKey = process.env.TEST_KEY;
  process.env.TEST_KEY = SECRET;
  server = await startScriptedServer(script);
  root = server.url.replace(/\/v1$/, '');
});
afterEach(async () => {
  await server.close();
  if (savedKey === undefined) delete process.env.TEST_KEY;
  else process.env.TEST_KEY = savedKey;
});

const model = (over: Partial<ModelConfig> & Pick<ModelConfig, 'provider'>): ModelConfig =>
  modelSchema.parse({ id: `test-${over.provider}`, model: 'test-model', api_key_env: 'TEST_KEY', ...over });

const req = (system: string, ...user: string[]): ChatRequest => ({
  system,
  messages: user.flatMap((u, i) =>
    i === 0
      ? [{ role: 'user' as const, content: u }]
      : [
          { role: 'assistant' as const, content: 'ok' },
          { role: 'user' as const, content: u },
        ],
  ),
});

describe('scripted server through the real SDKs', () => {
  it('openai provider: rules by system and user regex, replies cycling, usage, auth header', async () => {
    const m = model({ provider: 'openai', base_url: server.url });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const texts: string[] = [];
    for (let i = 0; i < 4; i++) texts.push((await callModel(m, req('You are the ideator.', 'Propose an idea'))).text);
    expect(texts).toEqual(['idea one', 'idea two', 'idea three', 'idea one']);
    expect((await callModel(m, req('You are the coder.', 'implement plan X'))).text).toBe('code for X');
    expect((await callModel(m, req('You are the coder.', 'implement plan Y'))).text).toBe('generic code');
    // every user message counts, so a retry still matches its plan
    expect((await callModel(m, req('You are the coder.', 'implement plan X', 'that failed, try again'))).text).toBe(
      'code for X',
    );
    expect(server.requests.map((r) => `${r.rule}#${r.reply_index}`)).toEqual([
      'ideator#0',
      'ideator#1',
      'ideator#2',
      'ideator#3',
      'coder-x#0',
      'coder-any#0',
      'coder-x#1',
    ]);
    expect(server.requests.every((r) => r.protocol === 'openai' && r.authorization_present)).toBe(true);
  });

  it('returns usage tokens', async () => {
    const system = 'You are the coder.';
    const user = 'implement plan X please';
    const reply = await callModel(model({ provider: 'openai', base_url: server.url }), req(system, user));
    expect(reply.usage.output_tokens).toBe(Math.ceil('code for X'.length / 4));
    expect(reply.usage.input_tokens).toBeGreaterThanOrEqual(Math.ceil((system.length + user.length) / 4));
    expect(reply.usage.cached_input_tokens).toBe(0);
  });

  it('scripted provider with base_url goes through the openai SDK to that server', async () => {
    const m = model({ provider: 'scripted', base_url: server.url, api_key_env: undefined });
    const reply = await callModel(m, req('You are the ideator.', 'go'));
    expect(reply.text).toBe('idea one');
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].protocol).toBe('openai');
  });

  it('anthropic provider posts to <base>/v1/messages', async () => {
    const m = model({ provider: 'anthropic', base_url: root });
    const system = 'You are the coder.';
    const user = 'implement plan X';
    const reply = await callModel(m, req(system, user));
    expect(reply.text).toBe('code for X');
    expect(reply.usage).toEqual({
      input_tokens: Math.ceil((system.length + user.length) / 4),
      output_tokens: Math.ceil('code for X'.length / 4),
      cached_input_tokens: 0,
    });
    expect(server.requests).toMatchObject([
      {
        rule: 'coder-x',
        reply_index: 0,
        protocol: 'anthropic',
        authorization_present: true,
        body: { system: 'You are the coder.' },
      },
    ]);
    expect((await callModel(m, req('the ideator', 'x'))).text).toBe('idea one');
    expect((await callModel(m, req('the ideator', 'x'))).text).toBe('idea two');
  });

  it('a request matching no rule is HTTP 400, a NonRetryableLlmError, and not retried', async () => {
    for (const m of [
      model({ provider: 'openai', base_url: server.url }),
      model({ provider: 'anthropic', base_url: root }),
    ]) {
      const err = await callModel(m, req('You are a poet.', 'write')).catch((e) => e);
      expect(err).toBeInstanceOf(NonRetryableLlmError);
      expect(err.message).toContain('HTTP 400');
      expect(err.message).toContain('no rule matches');
    }
    expect(server.requests).toHaveLength(0);
  });

  it('a missing API key for a provider without base_url is a NonRetryableLlmError naming the variable', async () => {
    delete process.env.SR_UNSET_KEY_FOR_TEST;
    for (const provider of ['openai', 'anthropic'] as const) {
      const m = model({ provider, api_key_env: 'SR_UNSET_KEY_FOR_TEST' });
      const err = await callModel(m, req('You are the ideator.', 'x')).catch((e) => e);
      expect(err).toBeInstanceOf(NonRetryableLlmError);
      expect(err.message).toContain('SR_UNSET_KEY_FOR_TEST');
      expect(err.message).toContain(`model 'test-${provider}'`);
    }
    expect(server.requests).toHaveLength(0);
  });

  it('the built-in scripts parse', () => {
    for (const f of ['data/scripts/collatz.yaml', 'data/scripts/default.yaml']) {
      expect(loadScript(join(ROOT, f)).rules.length).toBeGreaterThan(0);
    }
  });
});

describe('costUsd', () => {
  it('prices input, cached input and output per million tokens', () => {
    const m = model({ provider: 'openai', prices: { input: 2, output: 10, cached_input: 0.5 } });
    expect(costUsd(m, { input_tokens: 1_000_000, output_tokens: 0, cached_input_tokens: 0 })).toBe(2);
    expect(costUsd(m, { input_tokens: 1000, output_tokens: 500, cached_input_tokens: 400 })).toBe(
      (600 * 2 + 400 * 0.5 + 500 * 10) / 1e6,
    );
    // cached tokens cannot exceed input tokens
    expect(costUsd(m, { input_tokens: 100, output_tokens: 0, cached_input_tokens: 1000 })).toBe((100 * 0.5) / 1e6);
    const noCachedPrice = model({ provider: 'openai', prices: { input: 3, output: 15 } });
    expect(costUsd(noCachedPrice, { input_tokens: 1000, output_tokens: 0, cached_input_tokens: 1000 })).toBe(0.003);
    expect(
      costUsd(model({ provider: 'scripted' }), { input_tokens: 5000, output_tokens: 5000, cached_input_tokens: 0 }),
    ).toBe(0);
  });

  it('agrees with the usage of a real call', async () => {
    const m = model({ provider: 'openai', base_url: server.url, prices: { input: 1, output: 2 } });
    const reply = await callModel(m, req('You are the coder.', 'plan X'));
    expect(costUsd(m, reply.usage)).toBe(
      Math.round(((reply.usage.input_tokens * 1 + reply.usage.output_tokens * 2) / 1e6) * 1e6) / 1e6,
    );
    expect(costUsd(m, reply.usage)).toBeGreaterThan(0);
  });
});

describe('cachedChat', () => {
  let dir: string;
  let store: ArtifactStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sr-llm-'));
    store = new ArtifactStore(join(dir, 'store'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const site: CallSite = { runId: 'run-1', nodeId: 3, role: 'ideator', attempt: 0 };

  it('pays once per call site: an identical call reads the cache, another site calls again', async () => {
    const m = model({ provider: 'openai', base_url: server.url, prices: { input: 1, output: 1 } });
    const r = req('You are the ideator.', 'Propose an idea');
    const first = await cachedChat(store, m, r, site);
    expect(first.cached).toBe(false);
    expect(first.text).toBe('idea one');
    expect(first.usage.calls).toBe(1);
    expect(first.usage.cost_usd).toBe(costUsd(m, first.usage));
    expect(server.requests).toHaveLength(1);

    const again = await cachedChat(store, m, r, { ...site });
    expect(server.requests).toHaveLength(1);
    expect(again.cached).toBe(true);
    expect(again.text).toBe(first.text);
    expect(again.usage).toEqual(first.usage);
    expect(again.key).toBe(first.key);

    const otherNode = await cachedChat(store, m, r, { ...site, nodeId: 4 });
    expect(server.requests).toHaveLength(2);
    expect(otherNode.cached).toBe(false);
    expect(otherNode.text).toBe('idea two');
    expect(otherNode.key).not.toBe(first.key);

    const otherAttempt = await cachedChat(store, m, r, { ...site, attempt: 1 });
    expect(otherAttempt.cached).toBe(false);
    expect(server.requests).toHaveLength(3);

    const otherPrompt = await cachedChat(store, m, req('You are the ideator.', 'Another idea'), site);
    expect(otherPrompt.cached).toBe(false);
    expect(server.requests).toHaveLength(4);

    // the cache lives in the store: a fresh store object on the same path still hits
    const reopened = await cachedChat(new ArtifactStore(store.root), m, r, site);
    expect(reopened.cached).toBe(true);
    expect(reopened.text).toBe('idea one');
    expect(server.requests).toHaveLength(4);
  });

  it('stores the request beside the reply, never the API key', async () => {
    const m = model({ provider: 'openai', base_url: server.url });
    const reply = await cachedChat(store, m, req('You are the coder.', 'plan X'), site);
    expect(reply.cached).toBe(false);
    expect(server.requests[0].authorization_present).toBe(true); // the key was sent over HTTP...
    const entry = await store.getJson<{ text: string; requestRef: string }>((await store.getRef(`llm/${reply.key}`))!);
    expect(entry.text).toBe('code for X');
    expect(await store.getJson(entry.requestRef)).toEqual({
      model: m.id,
      req: req('You are the coder.', 'plan X'),
      site,
    });

    // ...but is nowhere in the store
    const files: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(store.root);
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) expect(readFileSync(f).includes(SECRET), f).toBe(false);
  });

  it('requestKey ignores the scripted server url but not a real provider base_url', () => {
    const r = req('s', 'u');
    const s1 = model({ provider: 'scripted', base_url: 'http://127.0.0.1:1/v1' });
    const s2 = model({ provider: 'scripted', base_url: 'http://127.0.0.1:2/v1' });
    expect(requestKey(s1, r, site)).toBe(requestKey(s2, r, site));
    const o1 = model({ provider: 'openai', base_url: 'http://127.0.0.1:1/v1' });
    const o2 = model({ provider: 'openai', base_url: 'http://127.0.0.1:2/v1' });
    expect(requestKey(o1, r, site)).not.toBe(requestKey(o2, r, site));
    expect(requestKey(o1, r, site)).not.toBe(requestKey({ ...o1, temperature: 0.5 }, r, site));
    expect(requestKey(o1, r, site)).not.toBe(requestKey(o1, r, { ...site, role: 'coder' }));
  });
});

describe('reasoning settings reach the provider', () => {
  it('openai: reasoning_effort; anthropic: thinking budget and output_config.effort; none of them when unset', async () => {
    await callModel(
      model({ provider: 'openai', base_url: server.url, reasoning_effort: 'high', max_tokens: 9000 }),
      req('You are the ideator.', 'x'),
    );
    await callModel(model({ provider: 'openai', base_url: server.url }), req('You are the ideator.', 'x'));
    await callModel(
      model({ provider: 'anthropic', base_url: root, thinking_budget: 2048, max_tokens: 9000 }),
      req('You are the ideator.', 'x'),
    );
    await callModel(
      model({ provider: 'anthropic', base_url: root, reasoning_effort: 'max' }),
      req('You are the ideator.', 'x'),
    );
    const bodies = server.requests.map((r) => r.body as Record<string, unknown>);
    expect(bodies[0]).toMatchObject({ reasoning_effort: 'high', max_completion_tokens: 9000 });
    expect(bodies[1]).not.toHaveProperty('reasoning_effort');
    expect(bodies[2]).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048 }, max_tokens: 9000 });
    expect(bodies[2]).not.toHaveProperty('output_config');
    expect(bodies[3]).toMatchObject({ output_config: { effort: 'max' } });
    expect(bodies[3]).not.toHaveProperty('thinking');
  });

  it('an effort Anthropic does not have is refused before anything is sent', async () => {
    const err = await callModel(
      model({ provider: 'anthropic', base_url: root, reasoning_effort: 'minimal' }),
      req('You are the ideator.', 'x'),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(NonRetryableLlmError);
    expect(server.requests).toHaveLength(0);
  });

  it('requestKey changes with the reasoning settings, and not when they are unset', () => {
    const site: CallSite = { runId: 'r', nodeId: 1, role: 'ideator', attempt: 0 };
    const m = model({ provider: 'openai' });
    const r = req('s', 'u');
    expect(requestKey({ ...m, reasoning_effort: 'low' }, r, site)).not.toBe(
      requestKey({ ...m, reasoning_effort: 'high' }, r, site),
    );
    expect(requestKey({ ...m, thinking_budget: 2048 }, r, site)).not.toBe(requestKey(m, r, site));
    expect(requestKey({ ...m, reasoning_effort: undefined }, r, site)).toBe(requestKey(m, r, site));
  });

  it('every shipped model states a context window above max_tokens, a thinking budget below it, and an effort its provider has', () => {
    for (const f of readdirSync(join(ROOT, 'config', 'model')).filter((n) => n.endsWith('.yaml'))) {
      const m = modelSchema.parse({
        id: f.replace(/\.yaml$/, ''),
        ...YAML.parse(readFileSync(join(ROOT, 'config', 'model', f), 'utf8')),
      });
      if (m.provider === 'scripted' || m.base_url?.startsWith('http://localhost')) continue; // self-hosted: the server decides
      expect(m.context_window, f).toBeGreaterThan(m.max_tokens);
      if (m.thinking_budget) expect(m.thinking_budget, f).toBeLessThan(m.max_tokens);
      if (m.provider === 'anthropic' && m.reasoning_effort)
        expect(['low', 'medium', 'high', 'xhigh', 'max'], f).toContain(m.reasoning_effort);
      expect(m.prices.input, f).toBeGreaterThan(0);
    }
  });
});
