// coder=search_replace: Aider-style SEARCH/REPLACE blocks, applied block by block (src/edits/search-replace.ts).
import { applyEditReply } from '../edits/search-replace';
import type { EditFormat } from './edit-loop';

export const searchReplaceFormat: EditFormat = {
  role: 'coder',
  apply: (reply, files, opts) => applyEditReply(reply, files, opts),
  retryHint: 'Reply with SEARCH/REPLACE blocks whose SEARCH part is copied exactly from the current files.',
};
