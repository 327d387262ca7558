// A prompt that would not fit the model's context window is cut before it is sent, by one stated rule,
// so the provider never rejects it for length. Pure: token counts come from a counter passed in
// (js-tiktoken's o200k_base by default, scaled per provider: see tokenSlack).
//
// The rule, applied step by step until the estimate fits (context_window − max_tokens):
//   1. whole earlier turns of the conversation, oldest first (the first user message, which holds
//      the task and the code, and the latest turn are kept);
//   2. entries of the history sections (`## History…`, `## Earlier failed attempts…`,
//      `## Already proposed…`), oldest entry first;
//   3. the start of `## Log of…` sections (their end, where errors and metrics are, stays) and the
//      end of `## Knowledge…` sections;
//   4. the middle of the largest remaining message (its head and tail stay).
// Every cut leaves a bracketed note saying what was cut, so the model knows.
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import type { ModelConfig } from '../config/schema';

type Message = { role: string; content: string; tool_calls?: unknown[] };
export interface FittableRequest {
  system: string;
  messages: Message[];
  tools?: unknown[];
}

export interface ContextCut {
  /** Earlier conversation messages dropped (step 1). */
  messages: number;
  /** History entries dropped (step 2). */
  entries: number;
  /** Characters cut in all (steps 2 to 4). */
  chars: number;
}

export interface FitResult<R> {
  req: R;
  /** The estimate for what is sent, in the model's tokens. */
  tokens: number;
  /** What was cut; absent when the request fitted as it was. */
  cut?: ContextCut;
}

export type TokenCounter = (text: string) => number;

let encoder: Tiktoken | undefined;
/** Runs without whitespace at least this long are estimated, not encoded. */
const LONG_RUN = 200;

/** Tokens of `text` in o200k_base (OpenAI's current encoding), the estimate every provider starts from. */
export function countTokens(text: string): number {
  encoder ??= new Tiktoken(o200k);
  if (!text) return 0;
  // BPE is quadratic in the length of a run without whitespace (a log flood of one character takes
  // seconds to minutes): such runs count as one token per 3 characters, more than BPE ever gives them.
  let estimated = 0;
  const rest = text.replace(new RegExp(`\\S{${LONG_RUN},}`, 'g'), (run) => {
    estimated += Math.ceil(run.length / 3);
    return ' ';
  });
  return estimated + encoder.encode(rest, [], []).length;
}

/**
 * How many of the model's tokens one o200k token is, at most: exact for OpenAI; Claude's tokenizer
 * (Claude 5) makes up to ~30% more tokens of the same text; other OpenAI-protocol servers (Gemini,
 * DeepSeek, vLLM) tokenize differently, so 20% slack.
 */
export function tokenSlack(model: Pick<ModelConfig, 'provider' | 'base_url'>): number {
  if (model.provider === 'anthropic') return 1.35;
  if (model.provider === 'openai' && !model.base_url) return 1.0;
  return 1.2;
}

/** Tokens a request's prompt may use: the context window less the reply's reserve (max_tokens); undefined without a window. */
export function promptBudget(model: Pick<ModelConfig, 'context_window' | 'max_tokens'>): number | undefined {
  return model.context_window === undefined ? undefined : Math.max(0, model.context_window - model.max_tokens);
}

/** The request as sent to `model`: cut by the rule above when its estimate exceeds the model's prompt budget. */
export function fitToModel<R extends FittableRequest>(
  model: ModelConfig,
  req: R,
  count: TokenCounter = countTokens,
): FitResult<R> {
  const slack = tokenSlack(model);
  const scaled: TokenCounter = (t) => Math.ceil(count(t) * slack);
  const limit = promptBudget(model);
  if (limit === undefined) return { req, tokens: requestTokens(req, scaled) };
  return fitRequest(req, limit, scaled);
}

const PER_MESSAGE = 4; // role and framing tokens per message, as the chat formats add them
const PER_REQUEST = 16;

export function requestTokens(req: FittableRequest, count: TokenCounter): number {
  return (
    PER_REQUEST +
    count(req.system) +
    (req.tools?.length ? count(JSON.stringify(req.tools)) : 0) +
    req.messages.reduce((n, m) => n + messageTokens(m, count), 0)
  );
}

const messageTokens = (m: Message, count: TokenCounter) =>
  PER_MESSAGE + count(m.content) + (m.tool_calls?.length ? count(JSON.stringify(m.tool_calls)) : 0);

const HISTORY_TITLE = /^## (History|Earlier failed attempts|Already proposed)/;
const LOG_TITLE = /^## Log of/;
const KNOWLEDGE_TITLE = /^## Knowledge/;

/** `req` cut until its estimate is at most `limit` tokens (see the rule at the top of this file). */
export function fitRequest<R extends FittableRequest>(req: R, limit: number, counter: TokenCounter): FitResult<R> {
  // The same texts are counted more than once below (a section, then the message it is in): count each once.
  const counted = new Map<string, number>();
  const count: TokenCounter = (t) => counted.get(t) ?? counted.set(t, counter(t)).get(t)!;
  let total = requestTokens(req, count);
  if (total <= limit) return { req, tokens: total };
  const cut: ContextCut = { messages: 0, entries: 0, chars: 0 };
  let messages = req.messages.map((m) => ({ ...m }));

  // 1. Earlier turns, oldest first. A turn is an assistant message and what answers it (tool results,
  //    the next user message), so tool calls and their results are dropped together.
  const turnStarts = () => messages.flatMap((m, i) => (i > 0 && m.role === 'assistant' ? [i] : []));
  while (total > limit && turnStarts().length > 1) {
    const [start, next] = turnStarts();
    const dropped = messages.slice(start, next);
    messages = [...messages.slice(0, start), ...messages.slice(next)];
    cut.messages += dropped.length;
    total -= dropped.reduce((n, m) => n + messageTokens(m, count), 0);
  }
  if (cut.messages) {
    const note = `\n\n[${cut.messages} earlier messages of this conversation were cut to fit the model's context window.]`;
    messages[0] = { ...messages[0], content: messages[0].content + note };
    total += count(note);
  }

  // 2–3. Inside the user messages' sections, first message first.
  const shrinkSections = (
    pick: RegExp,
    shrink: (body: string, excess: number) => { body: string; entries: number; chars: number },
  ) => {
    for (let i = 0; i < messages.length && total > limit; i++) {
      if (messages[i].role !== 'user') continue;
      const sections = splitSections(messages[i].content);
      let changed = false;
      for (const s of sections) {
        if (total <= limit || !pick.test(s.title)) continue;
        const before = count(s.body);
        const r = shrink(s.body, total - limit);
        if (r.body === s.body) continue;
        s.body = r.body;
        total += count(r.body) - before;
        cut.entries += r.entries;
        cut.chars += r.chars;
        changed = true;
      }
      if (changed) messages[i] = { ...messages[i], content: sections.map((s) => s.title + s.body).join('') };
    }
  };
  shrinkSections(HISTORY_TITLE, (body, excess) => dropOldestEntries(body, excess, count));
  shrinkSections(LOG_TITLE, (body, excess) => cutChars(body, excess, count, 'start'));
  shrinkSections(KNOWLEDGE_TITLE, (body, excess) => cutChars(body, excess, count, 'end'));

  // 4. The middle of the largest message, until it fits (a few rounds: the estimate per character varies).
  for (let round = 0; round < 8 && total > limit; round++) {
    const sizes = messages.map((m) => count(m.content));
    const i = sizes.indexOf(Math.max(...sizes));
    if (sizes[i] === 0) break;
    const r = cutChars(messages[i].content, total - limit, count, 'middle');
    if (r.body === messages[i].content) break;
    messages[i] = { ...messages[i], content: r.body };
    total += count(r.body) - sizes[i];
    cut.chars += r.chars;
  }

  const sent = { ...req, messages } as R;
  return { req: sent, tokens: requestTokens(sent, count), cut };
}

interface Section {
  /** `## Title\n`, or '' for the text before the first section. */
  title: string;
  body: string;
}

function splitSections(text: string): Section[] {
  const out: Section[] = [];
  const re = /^## [^\n]*\n/gm;
  let last = 0;
  let title = '';
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ title, body: text.slice(last, m.index) });
    title = m[0];
    last = m.index + m[0].length;
  }
  out.push({ title, body: text.slice(last) });
  return out.filter((s, i) => i > 0 || s.body);
}

/** Drops a section's entries (`- …` lines, `### …` blocks, `1. …` items), oldest (first) first, until `excess` tokens are gone. */
function dropOldestEntries(body: string, excess: number, count: TokenCounter) {
  const lines = body.split('\n');
  const starts = lines.flatMap((l, i) => (/^(- |### |\d+\. )/.test(l) ? [i] : []));
  if (!starts.length) return { body, entries: 0, chars: 0 };
  const entries = starts.map((s, k) => lines.slice(s, starts[k + 1] ?? lines.length).join('\n'));
  const head = lines.slice(0, starts[0]).join('\n');
  const rebuild = (dropped: number) => {
    const note = `[${dropped} oldest of ${entries.length} entries cut to fit the model's context window]`;
    const text = [...(head ? [head] : []), note, ...entries.slice(dropped)].join('\n');
    return body.endsWith('\n') && !text.endsWith('\n') ? text + '\n' : text;
  };
  // A first guess from the entries' own counts, then checked on the rebuilt text (counts do not add up exactly).
  let dropped = 0;
  for (let freed = 0; dropped < entries.length && freed < excess; dropped++) freed += count(entries[dropped]);
  const before = count(body);
  while (dropped < entries.length && before - count(rebuild(dropped)) < excess) dropped++;
  const rebuilt = rebuild(dropped);
  return { body: rebuilt, entries: dropped, chars: Math.max(0, body.length - rebuilt.length) };
}

/** Cuts about `excess` tokens of characters from the start, the end or the middle of `text`, with a note. */
function cutChars(text: string, excess: number, count: TokenCounter, where: 'start' | 'end' | 'middle') {
  const tokens = count(text);
  if (tokens === 0) return { body: text, entries: 0, chars: 0 };
  const charsPerToken = text.length / tokens;
  const note = (n: number) => `[… ${n} characters cut to fit the model's context window …]`;
  // The excess and the note's own tokens, in this text's characters (the loop in step 4 cuts again if short).
  const n = Math.min(text.length, Math.ceil((excess + count(note(text.length)) + 2) * charsPerToken) + 8);
  if (n >= text.length) return { body: `${note(text.length)}\n`, entries: 0, chars: text.length };
  // Logs and knowledge are cut at a line end near the cut, so the first (or last) line kept is whole.
  const near = (at: number) => (at >= 0 && Math.abs(at - n) < 240 ? at : n);
  if (where === 'start') {
    const from = near(text.indexOf('\n', n - 1) + 1 || -1);
    return { body: `${note(from)}\n${text.slice(from)}`, entries: 0, chars: from };
  }
  if (where === 'end') {
    const upTo = text.length - near(text.length - text.lastIndexOf('\n', text.length - n));
    return { body: `${text.slice(0, upTo)}\n${note(text.length - upTo)}\n`, entries: 0, chars: text.length - upTo };
  }
  const keep = text.length - n;
  return {
    body: `${text.slice(0, Math.ceil(keep / 2))}\n${note(n)}\n${text.slice(text.length - Math.floor(keep / 2))}`,
    entries: 0,
    chars: n,
  };
}
