// The shared shape of the text coders: ask for edits, apply what applies, and while some edit did not
// apply ask again with the failures fed back, up to `max_retries` times (see codeWithRetries).
import { rolePrompt } from '../agent/prompts';
import { firstCoderMessage } from './coder-prompt';
import type { AgentStepInput, CodeResult } from '../agent/steps';
import { cachedChat } from '../llm/cached-chat';
import { type ChatMessage } from '../llm/types';
import { addUsage, noUsage } from '../../core/usage';
import { flagSuspiciousDiff } from '../integrity/flags';
import { checkChanges } from '../integrity/static-rules';
import type { ArtifactStore } from '../store/artifact-store';
import { EditError, type BlockFailure } from '../edits/edit-error';
import { describeFailure, type EditApplication, type EditOptions } from '../edits/search-replace';

export type CodeInput = AgentStepInput & { planRef: string };

export interface EditFormat {
  /** Prompt file in data/prompts/ and the cache call-site role. */
  role: string;
  /** What the reply's edits make of `files`: the changes of the edits that apply, and the failures of the others. Throws EditError when nothing changes. */
  apply(reply: string, files: Record<string, string>, opts: EditOptions): EditApplication;
  retryHint: string;
}

export async function codeWithRetries(
  store: ArtifactStore,
  input: CodeInput,
  format: EditFormat,
  signal?: AbortSignal,
): Promise<CodeResult> {
  const { config, parent } = input;
  const { fnames } = config.task;
  const files = await store.readSnapshotFiles(parent.snapshot!, fnames);
  const plan = await store.getText(input.planRef);
  const second = input.secondParent;
  const user = second
    ? firstCoderMessage(input, plan, files, format.role, {
        second,
        secondFiles: await store.readSnapshotFiles(second.snapshot!, fnames),
      })
    : firstCoderMessage(input, plan, files, format.role);
  const messages: ChatMessage[] = [{ role: 'user', content: user }];
  // Edits accumulate: each attempt applies to the files as the earlier ones left them, and the blocks
  // of a reply that apply are kept when others fail. If some edit still fails after the last attempt,
  // the version is made from what did apply and `notes` names what did not (a partly applied plan
  // still runs, and its outcome tells the next step more than no version); if nothing ever applied,
  // there is no version and `error` says why.
  const options: EditOptions = {
    fnames,
    allowNewFiles: config.task.allow_new_files,
    versionPaths: Object.keys((await store.getSnapshot(parent.snapshot!)).files),
  };
  let working = files;
  let usage = noUsage();
  const started = Date.now();
  const attempts = config.max_retries + 1;
  let error = '';
  const made = async (attempt: number, notes?: string): Promise<CodeResult> => {
    const changed = changedFiles(files, working);
    const snapshot = await store.deriveSnapshot(parent.snapshot!, changed);
    return {
      snapshot,
      ...reviewChanges(files, changed, config.data.val_tokens),
      attempts: attempt,
      usage,
      llm_ms: Date.now() - started,
      ...(notes ? { notes } : {}),
    };
  };
  for (let attempt = 0; attempt < attempts; attempt++) {
    const reply = await cachedChat(
      store,
      config.model,
      { system: rolePrompt(format.role), messages },
      { runId: input.runId, nodeId: input.nodeId, role: format.role, attempt },
      signal,
    );
    usage = addUsage(usage, reply.usage); // a cached reply was still paid once, by an attempt whose result was lost
    let feedback: string;
    try {
      const res = format.apply(reply.text, working, options);
      working = { ...working, ...res.changed };
      const undone = Object.keys(changedFiles(files, working)).length === 0;
      if (res.failed.length === 0 && !undone) return made(attempt + 1);
      error = undone ? 'the edits undo the earlier ones: the files are as they were' : summary(res.failed);
      feedback = undone ? `${error}. ${format.retryHint}` : partialFeedback(res, format.retryHint);
    } catch (err) {
      if (!(err instanceof EditError)) throw err;
      error = err.failures.length ? summary(err.failures) : err.message;
      feedback = `Your edit could not be applied: ${err.message}. ${format.retryHint}`;
    }
    messages.push({ role: 'assistant', content: reply.text }, { role: 'user', content: feedback });
  }
  if (Object.keys(changedFiles(files, working)).length > 0)
    return made(attempts, `made from the edits that applied; not applied after ${attempts} attempts: ${error}`);
  return {
    error: `no applicable edit after ${attempts} attempts: ${error}`,
    attempts,
    usage,
    llm_ms: Date.now() - started,
  };
}

const changedFiles = (before: Record<string, string>, after: Record<string, string>) =>
  Object.fromEntries(Object.entries(after).filter(([path, text]) => text !== before[path]));

/** One line per failure (the first of its message, without the nearest lines): for a node's notes or reason. */
const summary = (failures: BlockFailure[]) => failures.map((f) => describeFailure(f).split('\n')[0]).join('; ');

/** The retry message after a partly applied reply: what is in the files now, and each failure in full. */
function partialFeedback(res: EditApplication, retryHint: string): string {
  const applied = res.applied.map((a) => `${a.block > 0 ? `block ${a.block} ` : ''}(${a.path})`).join(', ');
  return [
    `Part of your edit was applied: ${applied}. Those changes are in the files now; do not send them again.`,
    'These edits were not applied:',
    ...res.failed.map(describeFailure),
    `Reply with corrected edits for the ones not applied only, against the files as they are now. ${retryHint}`,
  ].join('\n\n');
}

/**
 * What a version's diff shows before it runs: warnings for review (it touches timing or validation
 * code, …), which never exclude it, and the named static rules' violations (src/integrity/static-rules.ts),
 * which do: such a version is recorded buggy with the rule and never executed.
 */
export function reviewChanges(
  before: Record<string, string>,
  changed: Record<string, string>,
  valTokens: number,
): Pick<CodeResult, 'flags' | 'violations'> {
  const changes = Object.entries(changed).map(([path, after]) => ({ path, before: before[path] ?? '', after }));
  const { violations } = checkChanges(changes, { valTokens });
  return { flags: flagSuspiciousDiff(changes), ...(violations.length ? { violations } : {}) };
}
