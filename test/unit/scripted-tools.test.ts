import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { scriptSchema, startScriptedServer, type ScriptedServer } from '../../src/llm/scripted-server';
import { callModel, callModelWithTools } from '../../src/llm/providers';
import { modelSchema, type ModelConfig } from '../../src/config/schema';
import type { AgentMessage, ToolSpec } from '../../src/llm/types';

// Tool-call replies of the scripted server, parsed by the real openai and anthropic SDKs, and the
// provider layer's round trip of tool calls and results in both protocols.

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer(
    scriptSchema.parse({
      rules: [
        {
          name: 'after-read',
          tool_result: 'def main',
          turns: [{ text: 'editing now', tool_calls: [{ name: 'apply_edit', arguments: { block: 'x' } }] }],
        },
        {
          name: 'first',
          system: 'tool-user',
          turns: [
            {
              text: '',
              tool_calls: [
                { name: 'read_file', arguments: { path: 'a.py' } },
                { name: 'search', arguments: { pattern: 'x' } },
              ],
            },
          ],
        },
        { name: 'plain', replies: ['just text'] },
      ],
    }),
  );
});
afterAll(() => server.close());

const tools: ToolSpec[] = [
  {
    name: 'read_file',
    description: 'read a file',
    parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
];
const model = (provider: 'openai' | 'anthropic'): ModelConfig =>
  modelSchema.parse({
    id: `t-${provider}`,
    provider,
    model: 'm',
    base_url: server.url,
    api_key_env: 'NO_SUCH_KEY_VAR',
  });

describe('scripted server tool calls', () => {
  it('reach the openai SDK as native function tool calls', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: server.url, maxRetries: 0 });
    const res = await client.chat.completions.create({
      model: 'm',
      messages: [
        { role: 'system', content: 'tool-user' },
        { role: 'user', content: 'go' },
      ],
      tools: [{ type: 'function', function: tools[0] }],
    });
    const choice = res.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    const calls = choice.message.tool_calls!.map((c) =>
      c.type === 'function' ? [c.function.name, JSON.parse(c.function.arguments)] : [],
    );
    expect(calls).toEqual([
      ['read_file', { path: 'a.py' }],
      ['search', { pattern: 'x' }],
    ]);
    expect(new Set(choice.message.tool_calls!.map((c) => c.id)).size).toBe(2);
  });

  it('reach the anthropic SDK as tool_use blocks', async () => {
    const client = new Anthropic({ apiKey: 'k', baseURL: server.url.replace(/\/v1$/, ''), maxRetries: 0 });
    const res = await client.messages.create({
      model: 'm',
      max_tokens: 100,
      system: 'tool-user',
      messages: [{ role: 'user', content: 'go' }],
      tools: [{ name: 'read_file', description: 'read', input_schema: { type: 'object', properties: {} } }],
    });
    expect(res.stop_reason).toBe('tool_use');
    expect(res.content.map((b) => (b.type === 'tool_use' ? [b.name, b.input] : b.type))).toEqual([
      ['read_file', { path: 'a.py' }],
      ['search', { pattern: 'x' }],
    ]);
  });

  for (const provider of ['openai', 'anthropic'] as const) {
    it(`round-trip tool results through callModelWithTools (${provider})`, async () => {
      const before = server.requests.length;
      const first = await callModelWithTools(model(provider), {
        system: 'tool-user',
        messages: [{ role: 'user', content: 'go' }],
        tools,
      });
      expect(first.tool_calls.map((c) => [c.name, c.arguments])).toEqual([
        ['read_file', { path: 'a.py' }],
        ['search', { pattern: 'x' }],
      ]);
      const messages: AgentMessage[] = [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: first.text, tool_calls: first.tool_calls },
        { role: 'tool', tool_call_id: first.tool_calls[0].id, name: 'read_file', content: 'def main(): pass' },
        { role: 'tool', tool_call_id: first.tool_calls[1].id, name: 'search', content: 'no match' },
      ];
      // The rule keyed on the latest tool result must not match: the newest result is 'no match'.
      const second = await callModelWithTools(model(provider), {
        system: 'tool-user',
        messages: messages.slice(0, 3),
        tools,
      });
      expect(second.text).toBe('editing now');
      expect(second.tool_calls.map((c) => c.name)).toEqual(['apply_edit']);
      const log = server.requests.slice(before);
      expect(log.map((r) => [r.rule, r.protocol])).toEqual([
        ['first', provider],
        ['after-read', provider],
      ]);
      // The recorded body is what the SDK sent: the tool result travels in the protocol's own shape.
      const body = JSON.stringify(log[1].body);
      expect(body).toContain(first.tool_calls[0].id);
      expect(body).toContain(provider === 'openai' ? '"role":"tool"' : '"type":"tool_result"');
      await expect(
        callModelWithTools(model(provider), { system: 'tool-user', messages, tools }),
      ).resolves.toMatchObject({ text: '', tool_calls: [{ name: 'read_file' }, { name: 'search' }] });
    });
  }

  it('keeps plain-string replies and callModel working', async () => {
    const reply = await callModel(model('openai'), { system: 'other', messages: [{ role: 'user', content: 'hi' }] });
    expect(reply.text).toBe('just text');
    expect((server.requests.at(-1)!.body as { tools?: unknown }).tools).toBeUndefined();
  });
});
