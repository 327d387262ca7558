import { describe, it, expect } from 'vitest';
import { EditError } from '../../src/edits/edit-error';
import { pathOnLine, resolveEditPath } from '../../src/edits/edit-paths';
import { nearestLines } from '../../src/edits/nearest-lines';
import {
  applyEditBlocks,
  applyEditReply,
  applyEdits,
  parseEditBlocks,
  parseEditReply,
  type EditBlock,
} from '../../src/edits/search-replace';

const block = (path: string, search: string, replace: string) =>
  [path, '<<<<<<< SEARCH', search, '=======', replace, '>>>>>>> REPLACE'].join('\n');

/** The EditError a call throws (fails the test when it throws nothing or something else). */
function editError(fn: () => unknown): EditError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EditError);
    return err as EditError;
  }
  throw new Error('expected an EditError, got none');
}

describe('parseEditBlocks', () => {
  it('parses several blocks with the file name on the line before, keeping prose out', () => {
    const reply = [
      'I will change two files.',
      '',
      block('a.py', 'x = 1\ny = 2', 'x = 10\ny = 20'),
      '',
      'And then:',
      block('pkg/b.py', 'def f():\n    return 1', 'def f():\n    return 2'),
      'Done.',
    ].join('\n');
    expect(parseEditBlocks(reply)).toEqual<EditBlock[]>([
      { path: 'a.py', search: 'x = 1\ny = 2', replace: 'x = 10\ny = 20', block: 1 },
      { path: 'pkg/b.py', search: 'def f():\n    return 1', replace: 'def f():\n    return 2', block: 2 },
    ]);
  });

  it('finds the file name outside or inside a ``` fence, and strips markdown decoration', () => {
    const outside = ['a.py', '```python', '<<<<<<< SEARCH', 'old', '=======', 'new', '>>>>>>> REPLACE', '```'].join(
      '\n',
    );
    const inside = ['```python', 'a.py', '<<<<<<< SEARCH', 'old', '=======', 'new', '>>>>>>> REPLACE', '```'].join(
      '\n',
    );
    const bare = ['```', 'a.py', '<<<<<<< SEARCH', 'old', '=======', 'new', '>>>>>>> REPLACE', '```'].join('\n');
    const bold = block('**a.py**', 'old', 'new');
    const heading = block('### a.py:', 'old', 'new');
    const backticked = block('`a.py`', 'old', 'new');
    for (const reply of [outside, inside, bare, bold, heading, backticked]) {
      expect(parseEditBlocks(reply), reply).toEqual([{ path: 'a.py', search: 'old', replace: 'new', block: 1 }]);
    }
  });

  it('accepts CRLF line ends and empty sections', () => {
    const reply = block('new.py', '', 'print(1)').replace(/\n/g, '\r\n');
    expect(parseEditBlocks(reply)).toEqual([{ path: 'new.py', search: '', replace: 'print(1)', block: 1 }]);
    expect(parseEditBlocks(block('a.py', 'gone', ''))).toEqual([
      { path: 'a.py', search: 'gone', replace: '', block: 1 },
    ]);
  });

  it('a reply with no block parses to no blocks', () => {
    expect(parseEditBlocks('I would switch to bit operations throughout.')).toEqual([]);
    expect(parseEditBlocks('')).toEqual([]);
  });

  it('broken blocks are EditErrors saying what is missing', () => {
    expect(editError(() => parseEditBlocks('<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE')).message).toContain(
      'has no file name',
    );
    expect(editError(() => parseEditBlocks('a.py\n<<<<<<< SEARCH\nold\nnew\n>>>>>>> REPLACE')).message).toContain(
      'block 1: the block for a.py has no "=======" line after its SEARCH part',
    );
    expect(editError(() => parseEditBlocks('a.py\n<<<<<<< SEARCH\nold\n=======\nnew')).message).toContain(
      'block 1: the block for a.py has no ">>>>>>> REPLACE" line (was the reply cut off?)',
    );
  });
});

describe('applyEditBlocks', () => {
  const src = ['def f(x):', '    if x > 0:', '        return x', '    return -x', ''].join('\n');

  it('applies an exact match, replacing the first occurrence only', () => {
    const files = { 'a.py': 'a = 1\nb = 2\na = 1\n' };
    const out = applyEditBlocks(files, parseEditBlocks(block('a.py', 'a = 1', 'a = 3')), ['a.py']);
    expect(out).toEqual({ 'a.py': 'a = 3\nb = 2\na = 1\n' });
    expect(files['a.py']).toBe('a = 1\nb = 2\na = 1\n'); // input untouched
  });

  it('returns only the changed files', () => {
    const files = { 'a.py': 'a = 1\n', 'b.py': 'b = 1\n' };
    expect(applyEditBlocks(files, parseEditBlocks(block('b.py', 'b = 1', 'b = 2')), ['a.py', 'b.py'])).toEqual({
      'b.py': 'b = 2\n',
    });
  });

  it('tolerates trailing whitespace differences on either side', () => {
    const files = { 'a.py': 'a = 1   \nb = 2\t\nc = 3\n' };
    const out = applyEditBlocks(files, parseEditBlocks(block('a.py', 'a = 1\nb = 2', 'a = 10\nb = 20')), ['a.py']);
    expect(out).toEqual({ 'a.py': 'a = 10\nb = 20\nc = 3\n' });
    const files2 = { 'a.py': 'a = 1\nb = 2\nc = 3\n' };
    const out2 = applyEditBlocks(files2, parseEditBlocks(block('a.py', 'a = 1  \nb = 2  ', 'a = 5\nb = 6')), ['a.py']);
    expect(out2).toEqual({ 'a.py': 'a = 5\nb = 6\nc = 3\n' });
  });

  it('tolerates a SEARCH indented less than the file: the replacement is shifted right', () => {
    const reply = block('a.py', 'if x > 0:\n    return x', 'if x >= 0:\n    return x + 0\n\n    # done');
    const out = applyEditBlocks({ 'a.py': src }, parseEditBlocks(reply), ['a.py']);
    expect(out['a.py']).toBe(
      ['def f(x):', '    if x >= 0:', '        return x + 0', '', '        # done', '    return -x', ''].join('\n'),
    );
  });

  it('tolerates a SEARCH indented more than the file: the replacement is shifted left', () => {
    const file = ['if x:', '    y()', 'z()', ''].join('\n');
    const reply = block('a.py', '        if x:\n            y()', '        if x:\n            w()\n            y()');
    const out = applyEditBlocks({ 'a.py': file }, parseEditBlocks(reply), ['a.py']);
    expect(out['a.py']).toBe(['if x:', '    w()', '    y()', 'z()', ''].join('\n'));
  });

  it('does not match when the indentation differs non-uniformly', () => {
    const reply = block('a.py', 'if x > 0:\nreturn x', 'nope');
    expect(editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(reply), ['a.py'])).message).toContain(
      'SEARCH text not found in a.py',
    );
  });

  it('refuses an edit to a file outside fnames, listing the allowed files', () => {
    const err = editError(() =>
      applyEditBlocks({ 'a.py': src, 'secret.py': 'k = 1\n' }, parseEditBlocks(block('secret.py', 'k = 1', 'k = 2')), [
        'a.py',
        'b.py',
      ]),
    );
    expect(err.message).toBe('block 1: edit to secret.py refused: only a.py, b.py may be edited');
  });

  it("applyEditBlocks (the agent's apply_edit) is all or nothing: one refused block refuses the call", () => {
    const reply = `${block('a.py', 'return -x', 'return abs(x)')}\n${block('other.py', 'x', 'y')}`;
    expect(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(reply), ['a.py'])).toThrow(
      /edit to other\.py refused/,
    );
  });

  it('a SEARCH that is not in the file names the file and its first line', () => {
    const err = editError(() =>
      applyEditBlocks({ 'a.py': src }, parseEditBlocks(block('a.py', '\n  while True:\n    pass', 'x')), ['a.py']),
    );
    expect(err.message).toBe('block 1: SEARCH text not found in a.py (first line: "while True:")'); // nothing in a.py resembles it
  });

  it('no blocks is an EditError', () => {
    expect(editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks('just prose'), ['a.py'])).message).toBe(
      'the reply contains no SEARCH/REPLACE edit block',
    );
  });

  it('an edit that changes nothing is an EditError', () => {
    const same = block('a.py', '    return -x', '    return -x');
    expect(editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(same), ['a.py'])).message).toBe(
      'the edits change nothing',
    );
    // two blocks that undo each other change nothing either
    const undo = `${block('a.py', 'return -x', 'return +x')}\n${block('a.py', 'return +x', 'return -x')}`;
    expect(editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(undo), ['a.py'])).message).toBe(
      'the edits change nothing',
    );
  });

  it('an empty SEARCH creates a new file in fnames, or fills an empty one, ending with a newline', () => {
    expect(applyEditBlocks({}, parseEditBlocks(block('new.py', '', 'print("hi")')), ['new.py'])).toEqual({
      'new.py': 'print("hi")\n',
    });
    expect(applyEditBlocks({ 'e.py': '\n' }, parseEditBlocks(block('e.py', '', 'x = 1\n')), ['e.py'])).toEqual({
      'e.py': 'x = 1\n',
    });
    expect(() => applyEditBlocks({}, parseEditBlocks(block('new.py', '', 'x')), ['a.py'])).toThrow(/refused/);
  });

  it('an empty SEARCH on a non-empty file is refused', () => {
    expect(
      editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(block('a.py', '', 'x')), ['a.py'])).message,
    ).toBe(
      'block 1: empty SEARCH for a.py, which is not empty: SEARCH must quote the lines to change (to add at the end, quote the last lines)',
    );
  });

  it("applies two blocks on the same file in sequence: the second sees the first one's result", () => {
    const reply = `${block('a.py', '    return -x', '    return abs(x)')}\n${block('a.py', 'return abs(x)', 'return abs(x) * 2')}`;
    const out = applyEditBlocks({ 'a.py': src }, parseEditBlocks(reply), ['a.py']);
    expect(out['a.py']).toBe(
      ['def f(x):', '    if x > 0:', '        return x', '    return abs(x) * 2', ''].join('\n'),
    );
  });

  it('a block whose SEARCH only exists after an earlier block fails without it', () => {
    const second = block('a.py', 'return abs(x)', 'return abs(x) * 2');
    expect(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(second), ['a.py'])).toThrow(
      /SEARCH text not found in a\.py/,
    );
  });
});

describe('applyEdits: partial application', () => {
  const src = ['a = 1', 'b = 2', 'c = 3', ''].join('\n');

  it('applies the blocks that match and reports the others with their block number', () => {
    const reply = [
      block('a.py', 'a = 1', 'a = 10'),
      block('a.py', 'b = 20', 'b = 30'),
      block('a.py', 'c = 3', 'c = 30'),
    ].join('\n');
    const res = applyEditReply(reply, { 'a.py': src }, { fnames: ['a.py'] });
    expect(res.changed).toEqual({ 'a.py': 'a = 10\nb = 2\nc = 30\n' });
    expect(res.applied.map((a) => a.block)).toEqual([1, 3]);
    expect(res.failed).toMatchObject([{ block: 2, path: 'a.py' }]);
    expect(res.failed[0].message).toMatch(
      /^SEARCH text not found in a\.py \(first line: "b = 20"\)\nThe nearest lines of a\.py \(lines 1-3\)/,
    );
  });

  it('keeps the well-formed blocks of a reply whose last block is cut off', () => {
    const reply = `${block('a.py', 'a = 1', 'a = 10')}\na.py\n<<<<<<< SEARCH\nb = 2\n=======\nb = `;
    const parsed = parseEditReply(reply, ['a.py']);
    expect(parsed.blocks).toHaveLength(1);
    expect(parsed.failures).toEqual([
      { block: 2, path: 'a.py', message: 'the block for a.py has no ">>>>>>> REPLACE" line (was the reply cut off?)' },
    ]);
    const res = applyEdits({ 'a.py': src }, parsed, { fnames: ['a.py'] });
    expect(res.changed['a.py']).toBe('a = 10\nb = 2\nc = 3\n');
    expect(res.failed.map((f) => f.block)).toEqual([2]);
  });

  it('throws one EditError listing every block when none applies', () => {
    const reply = [block('a.py', 'x = 1', 'x = 2'), block('other.py', 'a = 1', 'a = 2')].join('\n');
    const err = editError(() => applyEditReply(reply, { 'a.py': src }, { fnames: ['a.py'] }));
    expect(err.message).toMatch(
      /^none of the edit blocks applied:\nblock 1: SEARCH text not found in a\.py.*\nblock 2: edit to other\.py refused/s,
    );
    expect(err.failures.map((f) => f.block)).toEqual([1, 2]);
  });

  it('a later block edits what an earlier one wrote', () => {
    const reply = [block('a.py', 'a = 1', 'a = 1\nz = 0'), block('a.py', 'z = 0', 'z = 9')].join('\n');
    expect(applyEditReply(reply, { 'a.py': src }, { fnames: ['a.py'] }).changed['a.py']).toBe(
      'a = 1\nz = 9\nb = 2\nc = 3\n',
    );
  });
});

describe('matching rungs and the unique-match rule', () => {
  const apply = (file: string, search: string, replace: string) =>
    applyEditReply(block('a.py', search, replace), { 'a.py': file }, { fnames: ['a.py'] });

  it('an exact SEARCH found twice replaces the first (as aider does); a whitespace-tolerant one found twice is refused', () => {
    const file = 'if a:\n    go()\nif b:\n    go()\n';
    expect(apply(file, '    go()', '    stop()').changed['a.py']).toBe('if a:\n    stop()\nif b:\n    go()\n');
    expect(editError(() => apply(file, '  go()  ', 'stop()')).message).toBe(
      'block 1: SEARCH text (first line: "go()") matches 2 places in a.py (lines 2, 4) once whitespace is ignored; include more lines so that it matches one place',
    );
  });

  it('tabs in the file and spaces in SEARCH: the REPLACE is written with tabs', () => {
    const file = 'def f():\n\tif x:\n\t\treturn 1\n';
    expect(
      apply(file, '    if x:\n        return 1', '    if x:\n        return 2\n    return 0').changed['a.py'],
    ).toBe('def f():\n\tif x:\n\t\treturn 2\n\treturn 0\n');
  });

  it('blank lines are skipped only after the stricter rungs fail, and the match must still be unique', () => {
    const file = 'a()\n\nb()\nc()\n\n\nd()\n';
    expect(apply(file, 'a()\nb()\nc()\nd()', 'a()\nd()').changed['a.py']).toBe('a()\nd()\n');
    expect(() => apply('x()\n\ny()\nx()\ny()\n', 'x()\n\n\ny()', 'z()')).toThrow(/matches 2 places/);
  });

  it('"..." lines split SEARCH and REPLACE into pieces; a literal "..." line in the file matches first', () => {
    const file = 'def f():\n    a = 1\n    b = 2\n    c = 3\n    return a\n';
    expect(apply(file, 'def f():\n    ...\n    return a', 'def f(k):\n    ...\n    return a * k').changed['a.py']).toBe(
      'def f(k):\n    a = 1\n    b = 2\n    c = 3\n    return a * k\n',
    );
    const stub = 'class P:\n    ...\n';
    expect(apply(stub, 'class P:\n    ...', 'class P:\n    x = 1').changed['a.py']).toBe('class P:\n    x = 1\n');
    expect(editError(() => apply(file, 'def f():\n    ...\n    return a', 'def f():\n    return a')).message).toContain(
      'SEARCH has 1 "..." line(s) and REPLACE 0',
    );
    // a trailing piece with an empty SEARCH goes at the end of the file, as in aider
    expect(apply(file, '    return a\n...', '    return a\n...\nprint(f())').changed['a.py']).toBe(
      `${file}print(f())\n`,
    );
  });

  it('a block that misses its named file applies to the one other editable file it matches', () => {
    const res = applyEditReply(
      block('a.py', 'q = 1', 'q = 2'),
      { 'a.py': 'a = 1\n', 'b.py': 'q = 1\n' },
      { fnames: ['a.py', 'b.py'] },
    );
    expect(res.changed).toEqual({ 'b.py': 'q = 2\n' });
    expect(res.applied).toEqual([{ block: 1, path: 'b.py', note: 'named a.py, matched b.py' }]);
  });
});

describe('file names and what may be written', () => {
  it('pathOnLine reads names and headers, and takes no prose for a name', () => {
    const fnames = ['train_gpt2.py', 'Makefile'];
    for (const line of [
      'train_gpt2.py',
      '`train_gpt2.py`:',
      '**train_gpt2.py**',
      '### train_gpt2.py',
      '# File: train_gpt2.py',
      'Filename: train_gpt2.py',
      '**File:** `train_gpt2.py`',
      '- train_gpt2.py',
      '```train_gpt2.py',
      '```python train_gpt2.py',
    ]) {
      expect(pathOnLine(line, fnames), line).toBe('train_gpt2.py');
    }
    expect(pathOnLine('Makefile', fnames)).toBe('Makefile');
    for (const line of [
      'Now update the schedule:',
      'Here is the change to train_gpt2.py:',
      '```python',
      '```',
      '1. Raise the learning rate',
      'e.g.',
      '',
    ]) {
      expect(pathOnLine(line, fnames), line).toBeUndefined();
    }
  });

  it('resolveEditPath maps near names to one editable file and refuses escapes', () => {
    const fnames = ['train_gpt2.py', 'pkg/model.py'];
    expect(resolveEditPath('./train_gpt2.py', fnames)).toEqual({ path: 'train_gpt2.py', editable: true });
    expect(resolveEditPath('v_3/train_gpt2.py', fnames)).toEqual({ path: 'train_gpt2.py', editable: true });
    expect(resolveEditPath('model.py', fnames)).toEqual({ path: 'pkg/model.py', editable: true });
    expect(resolveEditPath('train_gpt.py', fnames)).toEqual({ path: 'train_gpt2.py', editable: true });
    expect(resolveEditPath('train_gpt.py', fnames, true)).toEqual({ path: 'train_gpt.py', editable: false }); // a new file is not a guess
    expect(resolveEditPath('notes.md', fnames)).toEqual({ path: 'notes.md', editable: false });
    for (const bad of [
      '/etc/passwd',
      '/work/v_3/train_gpt2.py',
      '~/train_gpt2.py',
      'C:\\x\\train_gpt2.py',
      '../train_gpt2.py',
      'pkg/../../x.py',
    ]) {
      expect(resolveEditPath(bad, fnames), bad).toHaveProperty('refused');
    }
  });

  it('new files outside fnames only with allowNewFiles, never over a path the version has', () => {
    const reply = `${block('new.py', '', 'x = 1')}\n${block('new.py', 'x = 1', 'x = 2')}`;
    const opts = { fnames: ['a.py'], versionPaths: ['a.py', 'data.bin'] };
    expect(() => applyEditReply(reply, { 'a.py': '' }, opts)).toThrow(
      /edit to new\.py refused: only a\.py may be edited/,
    );
    expect(applyEditReply(reply, { 'a.py': '' }, { ...opts, allowNewFiles: true }).changed).toEqual({
      'new.py': 'x = 2\n',
    });
    expect(() => applyEditReply(block('data.bin', '', 'x'), { 'a.py': '' }, { ...opts, allowNewFiles: true })).toThrow(
      /edit to data\.bin refused/,
    );
  });

  it("a block with no name goes to the previous block's file, or the only editable one; else it names the choices", () => {
    const two = `a.py\n${block('', 'x', 'y').slice(1)}\n\nthen:\n${block('', 'p', 'q').slice(1)}`;
    expect(parseEditBlocks(two, ['b.py', 'a.py']).map((b) => b.path)).toEqual(['a.py', 'a.py']);
    expect(parseEditBlocks(block('', 'x', 'y').slice(1), ['only.py'])[0].path).toBe('only.py');
    expect(parseEditReply(block('', 'x', 'y').slice(1), ['a.py', 'b.py']).failures[0].message).toBe(
      'the block has no file name on the line before "<<<<<<< SEARCH"; name one of: a.py, b.py',
    );
  });
});

describe('nearestLines', () => {
  it('finds the window most like the SEARCH, with up to two lines of context, or nothing when nothing resembles it', () => {
    const file = [
      'import os',
      '',
      'def train(lr=0.1):',
      '    opt = SGD(lr=lr)',
      '    for step in range(10):',
      '        opt.step()',
      '    return opt',
      '',
    ];
    const near = nearestLines(file, ['    opt = Adam(lr=lr)', '    for step in range(100):']);
    expect(near).toMatchObject({ from: 3, to: 7 }); // lines 4-5, two lines of context, the blank line 2 left out
    expect(near!.text).toBe(file.slice(2, 7).join('\n'));
    expect(nearestLines(file, ['zzzz qqqq wwww'])).toBeUndefined();
  });
});
