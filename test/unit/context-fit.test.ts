// The context-window rule of src/llm/context-fit.ts: earlier turns first, then history entries oldest
// first, then log starts and knowledge ends, then the middle of the largest message; never over.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  countTokens,
  fitRequest,
  fitToModel,
  promptBudget,
  requestTokens,
  tokenSlack,
} from '../../src/llm/context-fit';
import { section } from '../../src/agent/prompts';
import { modelSchema } from '../../src/config/schema';
import { scriptSchema, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import { cachedChat } from '../../src/llm/cached-chat';
import { ArtifactStore } from '../../src/store/artifact-store';
import type { AgentMessage } from '../../src/llm/types';

// A counter that is easy to reason about: one token per 4 characters.
const byChars = (t: string) => Math.ceil(t.length / 4);

const historyLine = (i: number) => `- v_${i} (improve from v_${i - 1}): idea number ${i} → ok; val_loss=3.2${i}`;
const userMessage = (historyN: number, log = '') =>
  [
    section('Task', 'Make training faster.'),
    section('Current code (v_9)', 'train_gpt2.py\n```\nprint("the code stays whole")\n```'),
    section('Log of v_9 (end)', log),
    section(
      'History (earlier versions related to this one, by version number)',
      Array.from({ length: historyN }, (_, i) => historyLine(i + 1)).join('\n'),
    ),
    section('Knowledge', 'k'.repeat(400)),
  ].join('\n');

describe('fitRequest', () => {
  it('leaves a request that fits untouched', () => {
    const req = { system: 's', messages: [{ role: 'user', content: userMessage(3) }] };
    const r = fitRequest(req, 10_000, byChars);
    expect(r.req).toBe(req);
    expect(r.cut).toBeUndefined();
    expect(r.tokens).toBe(requestTokens(req, byChars));
  });

  it('step 1: drops whole earlier turns, oldest first, tool calls with their results; keeps the first message and the latest turn', () => {
    const big = 'x'.repeat(800);
    const messages: AgentMessage[] = [
      { role: 'user', content: 'the task and the code' },
      { role: 'assistant', content: 'turn 1', tool_calls: [{ id: 'c1', name: 'read', arguments: {} }] },
      { role: 'tool', tool_call_id: 'c1', name: 'read', content: big },
      { role: 'assistant', content: 'turn 2', tool_calls: [{ id: 'c2', name: 'read', arguments: {} }] },
      { role: 'tool', tool_call_id: 'c2', name: 'read', content: big },
      { role: 'assistant', content: 'turn 3' },
      { role: 'user', content: 'the latest question' },
    ];
    const req = { system: 'sys', messages, tools: [{ name: 'read' }] };
    const limit = requestTokens(req, byChars) - 150; // one old turn must go
    const r = fitRequest(req, limit, byChars);
    expect(r.tokens).toBeLessThanOrEqual(limit);
    expect(r.cut).toEqual({ messages: 2, entries: 0, chars: 0 });
    expect(r.req.messages.map((m) => (m.role === 'assistant' ? m.content : m.role))).toEqual([
      'user',
      'turn 2',
      'tool',
      'turn 3',
      'user',
    ]);
    expect(r.req.messages[0].content).toContain('2 earlier messages of this conversation were cut');
    expect(r.req.messages.at(-1)!.content).toBe('the latest question');
    // the input is not modified
    expect(messages).toHaveLength(7);
    expect(messages[0].content).toBe('the task and the code');

    // a tighter limit drops turn 2 as well, never the latest turn
    const tighter = fitRequest(req, requestTokens(req, byChars) - 400, byChars);
    expect(tighter.req.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(tighter.cut!.messages).toBe(4);
  });

  it('step 2: drops history entries oldest first; the code, the task and the newest entries stay', () => {
    const content = userMessage(60);
    const req = { system: 's', messages: [{ role: 'user', content }] };
    const limit = requestTokens(req, byChars) - 200;
    const r = fitRequest(req, limit, byChars);
    const sent = r.req.messages[0].content;
    expect(r.tokens).toBeLessThanOrEqual(limit);
    expect(r.cut!.messages).toBe(0);
    expect(r.cut!.entries).toBeGreaterThan(0);
    expect(sent).toContain(`[${r.cut!.entries} oldest of 60 entries cut to fit the model's context window]`);
    expect(sent).not.toContain(historyLine(1));
    expect(sent).not.toContain(historyLine(r.cut!.entries));
    expect(sent).toContain(historyLine(r.cut!.entries + 1));
    expect(sent).toContain(historyLine(60));
    expect(sent).toContain('print("the code stays whole")');
    expect(sent).toContain('## Task\nMake training faster.');
    expect(sent).toContain('k'.repeat(400)); // knowledge is cut only after the history
  });

  it('step 3: then the start of the log (its end stays) and the end of the knowledge', () => {
    const log = Array.from({ length: 200 }, (_, i) => `step ${i} loss 3.${i}`).join('\n');
    const content = userMessage(2, log);
    const req = { system: 's', messages: [{ role: 'user', content }] };
    const limit = requestTokens(req, byChars) - 600;
    const r = fitRequest(req, limit, byChars);
    const sent = r.req.messages[0].content;
    expect(r.tokens).toBeLessThanOrEqual(limit);
    expect(r.cut!.entries).toBe(2); // the whole (short) history went first
    expect(sent).not.toContain('step 0 loss');
    expect(sent).toContain('step 199 loss 3.199');
    expect(sent).toMatch(/\[… \d+ characters cut to fit the model's context window …\]\nstep \d+/);
    expect(sent).toContain('print("the code stays whole")');
  });

  it('step 4: the middle of the largest message as a last resort, head and tail kept; never over the limit', () => {
    const content = `HEAD ${'a'.repeat(20_000)} TAIL`;
    const req = { system: 's', messages: [{ role: 'user', content }] };
    for (const limit of [4000, 1000, 100]) {
      const r = fitRequest(req, limit, byChars);
      expect(r.tokens, `limit ${limit}`).toBeLessThanOrEqual(limit);
      expect(r.req.messages[0].content.startsWith('HEAD ')).toBe(true);
      expect(r.req.messages[0].content.endsWith(' TAIL')).toBe(true);
      expect(r.cut!.chars).toBeGreaterThan(20_000 - limit * 4);
    }
  });
});

describe('fitToModel', () => {
  const model = (over: object) => modelSchema.parse({ id: 't', provider: 'openai', model: 'gpt-x', ...over });

  it('the budget is the window less max_tokens; no window, no cut', () => {
    expect(promptBudget(model({ context_window: 10_000, max_tokens: 2000 }))).toBe(8000);
    expect(promptBudget(model({}))).toBeUndefined();
    const req = { system: 's', messages: [{ role: 'user', content: 'word '.repeat(50_000) }] };
    expect(fitToModel(model({}), req).req).toBe(req);
  });

  it('counts o200k tokens with the provider slack and fits under the budget', () => {
    expect(countTokens('hello world')).toBe(2);
    expect(tokenSlack({ provider: 'openai' })).toBe(1);
    expect(tokenSlack({ provider: 'anthropic' })).toBeGreaterThan(1.3);
    expect(
      tokenSlack({ provider: 'openai', base_url: 'https://generativelanguage.googleapis.com/v1beta/openai/' }),
    ).toBeGreaterThan(1);
    const req = { system: 's', messages: [{ role: 'user', content: userMessage(2000) }] };
    for (const provider of ['openai', 'anthropic'] as const) {
      const m = model({ provider, context_window: 20_000, max_tokens: 4000 });
      const r = fitToModel(m, req);
      expect(r.tokens).toBeLessThanOrEqual(16_000);
      expect(r.cut!.entries).toBeGreaterThan(0);
      // the estimate is the scaled o200k count of what is sent
      expect(r.tokens).toBe(requestTokens(r.req, (t) => Math.ceil(countTokens(t) * tokenSlack(m))));
    }
  });
});

describe('the cut request is what reaches the provider, and is stored', () => {
  let server: ScriptedServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('cachedChat sends the cut request (and stores it with the cut), keyed by the caller’s request', async () => {
    server = await startScriptedServer(scriptSchema.parse({ rules: [{ name: 'any', replies: ['ok'] }] }));
    dir = mkdtempSync(join(tmpdir(), 'sr-fit-'));
    const store = new ArtifactStore(join(dir, 'store'));
    const m = modelSchema.parse({
      id: 'small',
      provider: 'openai',
      model: 'm',
      base_url: server.url,
      context_window: 6000,
      max_tokens: 1000,
    });
    const req = { system: 'You are the ideator.', messages: [{ role: 'user' as const, content: userMessage(1500) }] };
    const reply = await cachedChat(store, m, req, { runId: 'r', nodeId: 1, role: 'ideator', attempt: 0 });
    const sent = server.requests[0].body as { messages: { content: string }[]; max_completion_tokens: number };
    expect(sent.max_completion_tokens).toBe(1000);
    expect(sent.messages[1].content).toContain('oldest of 1500 entries cut');
    expect(sent.messages[1].content).toContain(historyLine(1500));
    // the scripted server counts ~4 characters a token: what it received fits the window
    expect(reply.usage.input_tokens + 1000).toBeLessThanOrEqual(6000);
    const entry = await store.getJson<{ requestRef: string }>((await store.getRef(`llm/${reply.key}`))!);
    const stored = await store.getJson<{ req: typeof req; context_cut: { entries: number } }>(entry.requestRef);
    expect(stored.req.messages[0].content).toBe(sent.messages[1].content);
    expect(stored.context_cut.entries).toBeGreaterThan(0);
  });
});

describe('countTokens on a flood', () => {
  it('estimates a long run without whitespace instead of encoding it (BPE is quadratic there)', () => {
    expect(countTokens('x'.repeat(300_000))).toBe(100_000 + countTokens(' '));
    expect(countTokens(`a b ${'y'.repeat(600)} c`)).toBe(200 + countTokens('a b   c'));
  });
});
