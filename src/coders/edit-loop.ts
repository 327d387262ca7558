// The shared shape of the text coders: ask for edits, apply them, and on a failed edit ask again with
// the failure fed back, up to `max_retries` times; then the version is buggy with the reason.
import { codeBlock, rolePrompt, section } from '../agent/prompts';
import type { AgentStepInput, CodeResult } from '../agent/steps';
import { cachedChat } from '../llm/cached-chat';
import { type ChatMessage } from '../llm/types';
import { addUsage, noUsage } from '../../core/usage';
import { flagSuspiciousDiff } from '../integrity/flags';
import type { ArtifactStore } from '../store/artifact-store';

export type CodeInput = AgentStepInput & { planRef: string };

/** An edit the coder's reply asked for that cannot be applied; its message goes back to the model. */
export class CoderEditError extends Error {}

export interface EditFormat {
  /** Prompt file in data/prompts/ and the cache call-site role. */
  role: string;
  /** The changed files (path → new content) the reply asks for; throws CoderEditError when it cannot. */
  apply(reply: string, files: Record<string, string>, fnames: string[]): Record<string, string>;
  retryHint: string;
}

export async function codeWithRetries(store: ArtifactStore, input: CodeInput, format: EditFormat, signal?: AbortSignal): Promise<CodeResult> {
  const { config, parent } = input;
  const { fnames } = config.task;
  const files = await store.readSnapshotFiles(parent.snapshot!, fnames);
  const user = [
    section('Plan', await store.getText(input.planRef)),
    section('Files you may edit', fnames.join(', ')),
    section('Current files', codeBlock(files)),
    section('Instructions', config.task.code_instructions),
  ].join('\n');
  const messages: ChatMessage[] = [{ role: 'user', content: user }];
  let usage = noUsage();
  const started = Date.now();
  let error = '';
  for (let attempt = 0; attempt <= config.max_retries; attempt++) {
    const reply = await cachedChat(store, config.model, { system: rolePrompt(format.role), messages }, { runId: input.runId, nodeId: input.nodeId, role: format.role, attempt }, signal);
    usage = addUsage(usage, reply.usage); // a cached reply was still paid once, by an attempt whose result was lost
    try {
      const changed = format.apply(reply.text, files, fnames);
      return { snapshot: await store.deriveSnapshot(parent.snapshot!, changed), flags: diffFlags(files, changed), attempts: attempt + 1, usage, llm_ms: Date.now() - started };
    } catch (err) {
      if (!(err instanceof CoderEditError)) throw err;
      error = err.message;
      messages.push({ role: 'assistant', content: reply.text }, { role: 'user', content: `Your edit could not be applied: ${error}. ${format.retryHint}` });
    }
  }
  return { error: `no applicable edit after ${config.max_retries + 1} attempts: ${error}`, attempts: config.max_retries + 1, usage, llm_ms: Date.now() - started };
}

export function diffFlags(before: Record<string, string>, changed: Record<string, string>): string[] {
  return flagSuspiciousDiff(Object.entries(changed).map(([path, after]) => ({ path, before: before[path] ?? '', after })));
}
