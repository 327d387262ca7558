// One new version from a plan, by the coder the config names. `agent` is a workflow of its own
// (workflows/agent-coder.ts: each turn and tool call an activity), so it is not dispatched here.
import type { CodeResult } from '../agent/steps';
import { modelEndpoint } from '../llm/providers';
import type { ArtifactStore } from '../store/artifact-store';
import { codeWithAider } from './aider';
import { codeWithRetries, type CodeInput } from './edit-loop';
import { searchReplaceFormat } from './search-replace';
import { wholeFileFormat } from './whole-file';

export async function codeVersion(store: ArtifactStore, input: CodeInput, signal?: AbortSignal): Promise<CodeResult> {
  switch (input.config.coder) {
    case 'search_replace':
      return codeWithRetries(store, input, searchReplaceFormat, signal);
    case 'whole_file':
      return codeWithRetries(store, input, wholeFileFormat, signal);
    case 'aider':
      return codeWithAider(store, input, await modelEndpoint(input.config.model), signal);
    case 'agent':
      throw new Error('coder=agent runs as the agentCode workflow (workflows/agent-coder.ts), not as one activity');
  }
}
