import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';

/**
 * The scripted model: an HTTP server that speaks the OpenAI chat-completions and Anthropic messages
 * protocols and answers from a script, so the real SDKs (and our whole LLM path) run without a
 * provider. A script is a list of rules; the first rule whose regexes match the request answers with
 * its next reply (cycling). Replies depend only on the request and how often the rule answered.
 * A rule answers with `replies` (plain texts) or `turns` (`{text?, tool_calls: [{name, arguments}]}`,
 * sent as the protocol's native tool calls: OpenAI `tool_calls`, Anthropic `tool_use` blocks).
 * A rule's `faults` answer its first matches instead, in order, the way a provider fails: an HTTP error
 * status (with `retry_after` seconds or `retry_after_ms` headers), or `hang` (the request is read and
 * never answered, as when a provider or the network stalls).
 */
const faultSchema = z
  .strictObject({
    status: z.number().int().min(400).max(599).optional(),
    /** The `retry-after` header: seconds, or an HTTP date. */
    retry_after: z.union([z.number().min(0), z.string()]).optional(),
    /** The `retry-after-ms` header (OpenAI's). */
    retry_after_ms: z.number().min(0).optional(),
    hang: z.boolean().default(false),
  })
  .refine((f) => f.hang !== (f.status !== undefined), { message: 'a fault is an error status or a hang, one of them' });
const toolCallSchema = z.strictObject({ name: z.string(), arguments: z.record(z.string(), z.unknown()).default({}) });
const turnSchema = z.strictObject({ text: z.string().default(''), tool_calls: z.array(toolCallSchema).default([]) });
const ruleSchema = z
  .strictObject({
    name: z.string(),
    /** Regex tested against the system prompt. */
    system: z.string().optional(),
    /** Regex tested against the user messages (all of them, so a retry still matches its plan). */
    user: z.string().optional(),
    /** Regex tested against the latest tool result (empty before any), so agent loops answer by what they saw. */
    tool_result: z.string().optional(),
    replies: z.array(z.string()).default([]),
    turns: z.array(turnSchema).optional(),
    faults: z.array(faultSchema).optional(),
  })
  .refine((r) => r.replies.length > 0 !== Boolean(r.turns?.length), {
    message: 'a rule needs replies (texts) or turns (tool calls), not both',
  });
export const scriptSchema = z.strictObject({
  latency_ms: z.number().min(0).default(0),
  rules: z.array(ruleSchema).min(1),
});
export type Script = z.infer<typeof scriptSchema>;

export function loadScript(file: string): Script {
  const parsed = scriptSchema.safeParse(YAML.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new Error(
      `invalid model script ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

export interface ScriptedRequestLog {
  rule: string;
  reply_index: number;
  protocol: 'openai' | 'anthropic';
  authorization_present: boolean;
  /** The request body as received (tests assert what did, or did not, reach the model). */
  body: unknown;
  /** The HTTP status answered; null for a request left hanging. */
  status: number | null;
  /** When the request arrived (ms since the epoch), so tests can see the retry delays. */
  at_ms: number;
}

export interface ScriptedServer {
  url: string;
  /** Every request answered, in order (tests count paid calls with it). */
  requests: ScriptedRequestLog[];
  close(): Promise<void>;
}

export async function startScriptedServer(script: Script, port = 0): Promise<ScriptedServer> {
  const counts = new Map<string, number>();
  const requests: ScriptedRequestLog[] = [];

  const answer = (system: string, user: string, toolResult: string) => {
    const rule = script.rules.find(
      (r) =>
        (!r.system || new RegExp(r.system).test(system)) &&
        (!r.user || new RegExp(r.user).test(user)) &&
        (r.tool_result === undefined || new RegExp(r.tool_result).test(toolResult)),
    );
    if (!rule) return undefined;
    const seen = counts.get(rule.name) ?? 0;
    counts.set(rule.name, seen + 1);
    const faults = rule.faults ?? [];
    if (seen < faults.length) return { rule: rule.name, index: seen, fault: faults[seen], text: '', tool_calls: [] };
    const index = seen - faults.length;
    const turns = rule.turns ?? [];
    const reply = rule.replies.length
      ? { text: rule.replies[index % rule.replies.length], tool_calls: [] }
      : turns[index % turns.length];
    return { rule: rule.name, index, fault: undefined, ...reply };
  };

  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === 'GET' && req.url === '/_requests') return send(200, requests);
      const body = JSON.parse(await readBody(req));
      const protocol = req.url?.endsWith('/chat/completions')
        ? 'openai'
        : req.url?.endsWith('/messages')
          ? 'anthropic'
          : undefined;
      if (req.method !== 'POST' || !protocol)
        return send(404, { error: { message: `no route ${req.method} ${req.url}` } });
      const msgs: { role: string; content: unknown }[] = body.messages ?? [];
      const system =
        protocol === 'openai' ? textOf(msgs.find((m) => m.role === 'system')?.content) : textOf(body.system);
      const userText = msgs
        .filter((m) => m.role === 'user')
        .map((m) => textOf(m.content))
        .join('\n');
      const reply = answer(system, userText, lastToolResult(protocol, msgs));
      if (!reply)
        return send(400, {
          error: { type: 'invalid_request_error', message: 'scripted model: no rule matches this request' },
        });
      const { fault } = reply;
      requests.push({
        rule: reply.rule,
        reply_index: reply.index,
        protocol,
        authorization_present: Boolean(req.headers.authorization || req.headers['x-api-key']),
        body,
        status: fault?.hang ? null : (fault?.status ?? 200),
        at_ms: Date.now(),
      });
      if (fault?.hang) return; // read, never answered: the client's timeout (or a dead worker) ends it
      if (fault?.status) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (fault.retry_after !== undefined) headers['retry-after'] = String(fault.retry_after);
        if (fault.retry_after_ms !== undefined) headers['retry-after-ms'] = String(fault.retry_after_ms);
        const message = `scripted fault: HTTP ${fault.status}`;
        res.writeHead(fault.status, headers);
        const type =
          fault.status === 429 ? 'rate_limit_error' : fault.status >= 500 ? 'api_error' : 'invalid_request_error';
        return res.end(
          JSON.stringify(
            protocol === 'anthropic' ? { type: 'error', error: { type, message } } : { error: { type, message } },
          ),
        );
      }
      if (script.latency_ms) await new Promise((r) => setTimeout(r, script.latency_ms));
      // OpenAI requests carry the system prompt among the messages; Anthropic ones beside them.
      const promptChars =
        msgs.reduce((n, m) => n + textOf(m.content).length, 0) + (protocol === 'anthropic' ? system.length : 0);
      const inTok = Math.ceil(promptChars / 4);
      const outTok = Math.ceil(
        (reply.text.length + (reply.tool_calls.length ? JSON.stringify(reply.tool_calls).length : 0)) / 4,
      );
      const n = requests.length;
      if (protocol === 'openai') {
        return send(200, {
          id: `chatcmpl-scripted-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [
            {
              index: 0,
              message: openAiMessage(reply, n),
              finish_reason: reply.tool_calls.length ? 'tool_calls' : 'stop',
            },
          ],
          usage: { prompt_tokens: inTok, completion_tokens: outTok, total_tokens: inTok + outTok },
        });
      }
      return send(200, {
        id: `msg_scripted_${requests.length}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [
          ...(reply.text || !reply.tool_calls.length ? [{ type: 'text', text: reply.text }] : []),
          ...reply.tool_calls.map((c, i) => ({
            type: 'tool_use',
            id: `toolu_scripted_${n}_${i}`,
            name: c.name,
            input: c.arguments,
          })),
        ],
        stop_reason: reply.tool_calls.length ? 'tool_use' : 'end_turn',
        usage: { input_tokens: inTok, output_tokens: outTok },
      });
    } catch (err) {
      send(500, { error: { message: String(err) } });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Answer = { text: string; tool_calls: { name: string; arguments: Record<string, unknown> }[] };

function openAiMessage(reply: Answer, n: number) {
  if (!reply.tool_calls.length) return { role: 'assistant', content: reply.text };
  return {
    role: 'assistant',
    content: reply.text || null,
    tool_calls: reply.tool_calls.map((c, i) => ({
      id: `call_scripted_${n}_${i}`,
      type: 'function',
      function: { name: c.name, arguments: JSON.stringify(c.arguments) },
    })),
  };
}

/** The text of the newest tool result: an OpenAI `tool` message, or an Anthropic `tool_result` block. */
function lastToolResult(protocol: 'openai' | 'anthropic', msgs: { role: string; content: unknown }[]): string {
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (protocol === 'openai' && m.role === 'tool') return textOf(m.content);
    if (protocol === 'anthropic' && m.role === 'user' && Array.isArray(m.content)) {
      const results = m.content.filter((b) => b?.type === 'tool_result');
      if (results.length) return textOf(results[results.length - 1].content);
    }
  }
  return '';
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (typeof c === 'string' ? c : (c?.text ?? ''))).join('');
  return '';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}
