import { afterAll, describe, expect, it } from 'vitest';
import { EditError } from '../../src/edits/edit-error';
import { applyEditReply, describeFailure, type EditApplication } from '../../src/edits/search-replace';
import { ALL_FILES, CASES, expectedChanges, startingFiles } from '../fixtures/edit-replies/cases';

// Every reply shape of the corpus through the search_replace coder's parse + apply, as the coder
// calls it (the editable files' contents, every path of the version).

const passed: string[] = [];
afterAll(() => console.log(`edit-reply corpus: ${passed.length}/${CASES.length} shapes give their expected result`));

describe('edit-reply corpus', () => {
  it('has at least 30 shapes', () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  for (const c of CASES) {
    it(c.name, () => {
      const opts = {
        fnames: c.fnames ?? ['train_gpt2.py'],
        allowNewFiles: c.allowNewFiles,
        versionPaths: Object.keys(ALL_FILES),
      };
      let res: EditApplication | undefined;
      let refusal: EditError | undefined;
      try {
        res = applyEditReply(c.reply, startingFiles(c), opts);
      } catch (err) {
        if (!(err instanceof EditError)) throw err;
        refusal = err;
      }
      if ('refused' in c.expect) {
        expect(res, 'must be refused').toBeUndefined();
        expect(refusal!.message).toMatch(c.expect.refused);
      } else {
        expect(refusal?.message, 'must apply').toBeUndefined();
        expect(res!.changed).toEqual(expectedChanges(c));
        const failures = res!.failed.map(describeFailure).join('\n');
        if (c.expect.failed) expect(failures).toMatch(c.expect.failed);
        else expect(failures).toBe('');
      }
      passed.push(c.name);
    });
  }
});
