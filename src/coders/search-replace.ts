// coder=search_replace: Aider-style SEARCH/REPLACE blocks (src/edits/search-replace.ts).
import { applyEditBlocks, EditError, parseEditBlocks } from '../edits/search-replace';
import { CoderEditError, type EditFormat } from './edit-loop';

export const searchReplaceFormat: EditFormat = {
  role: 'coder',
  apply(reply, files, fnames) {
    try {
      return applyEditBlocks(files, parseEditBlocks(reply), fnames);
    } catch (err) {
      if (err instanceof EditError) throw new CoderEditError(err.message);
      throw err;
    }
  },
  retryHint: 'Reply again with SEARCH/REPLACE blocks that match the current files exactly.',
};
