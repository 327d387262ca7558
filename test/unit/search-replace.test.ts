import { describe, it, expect } from 'vitest';
import { applyEditBlocks, EditError, parseEditBlocks, type EditBlock } from '../../src/edits/search-replace';

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
      { path: 'a.py', search: 'x = 1\ny = 2', replace: 'x = 10\ny = 20' },
      { path: 'pkg/b.py', search: 'def f():\n    return 1', replace: 'def f():\n    return 2' },
    ]);
  });

  it('finds the file name outside or inside a ``` fence, and strips markdown decoration', () => {
    const outside = ['a.py', '```python', '<<<<<<< SEARCH', 'old', '=======', 'new', '>>>>>>> REPLACE', '```'].join('\n');
    const inside = ['```python', 'a.py', '<<<<<<< SEARCH', 'old', '=======', 'new', '>>>>>>> REPLACE', '```'].join('\n');
    const bare = ['```', 'a.py', '<<<<<<< SEARCH', 'old', '=======', 'new', '>>>>>>> REPLACE', '```'].join('\n');
    const bold = block('**a.py**', 'old', 'new');
    const heading = block('### a.py:', 'old', 'new');
    const backticked = block('`a.py`', 'old', 'new');
    for (const reply of [outside, inside, bare, bold, heading, backticked]) {
      expect(parseEditBlocks(reply), reply).toEqual([{ path: 'a.py', search: 'old', replace: 'new' }]);
    }
  });

  it('accepts CRLF line ends and empty sections', () => {
    const reply = block('new.py', '', 'print(1)').replace(/\n/g, '\r\n');
    expect(parseEditBlocks(reply)).toEqual([{ path: 'new.py', search: '', replace: 'print(1)' }]);
    expect(parseEditBlocks(block('a.py', 'gone', ''))).toEqual([{ path: 'a.py', search: 'gone', replace: '' }]);
  });

  it('a reply with no block parses to no blocks', () => {
    expect(parseEditBlocks('I would switch to bit operations throughout.')).toEqual([]);
    expect(parseEditBlocks('')).toEqual([]);
  });

  it('broken blocks are EditErrors saying what is missing', () => {
    expect(editError(() => parseEditBlocks('<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE')).message).toContain('has no file name');
    expect(editError(() => parseEditBlocks('a.py\n<<<<<<< SEARCH\nold\nnew\n>>>>>>> REPLACE')).message).toContain(
      'edit block for a.py has no "=======" divider',
    );
    expect(editError(() => parseEditBlocks('a.py\n<<<<<<< SEARCH\nold\n=======\nnew')).message).toContain(
      'edit block for a.py has no ">>>>>>> REPLACE" end',
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
    expect(applyEditBlocks(files, parseEditBlocks(block('b.py', 'b = 1', 'b = 2')), ['a.py', 'b.py'])).toEqual({ 'b.py': 'b = 2\n' });
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
    expect(out['a.py']).toBe(['def f(x):', '    if x >= 0:', '        return x + 0', '', '        # done', '    return -x', ''].join('\n'));
  });

  it('tolerates a SEARCH indented more than the file: the replacement is shifted left', () => {
    const file = ['if x:', '    y()', 'z()', ''].join('\n');
    const reply = block('a.py', '        if x:\n            y()', '        if x:\n            w()\n            y()');
    const out = applyEditBlocks({ 'a.py': file }, parseEditBlocks(reply), ['a.py']);
    expect(out['a.py']).toBe(['if x:', '    w()', '    y()', 'z()', ''].join('\n'));
  });

  it('does not match when the indentation differs non-uniformly', () => {
    const reply = block('a.py', 'if x > 0:\nreturn x', 'nope');
    expect(editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(reply), ['a.py'])).message).toContain('SEARCH text not found in a.py');
  });

  it('refuses an edit to a file outside fnames, listing the allowed files', () => {
    const err = editError(() => applyEditBlocks({ 'a.py': src, 'secret.py': 'k = 1\n' }, parseEditBlocks(block('secret.py', 'k = 1', 'k = 2')), ['a.py', 'b.py']));
    expect(err.message).toBe('edit to secret.py refused: only a.py, b.py may be edited');
  });

  it('refuses the whole reply when any block targets a file outside fnames', () => {
    const reply = `${block('a.py', 'return -x', 'return abs(x)')}\n${block('other.py', 'x', 'y')}`;
    expect(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(reply), ['a.py'])).toThrow(/edit to other\.py refused/);
  });

  it('a SEARCH that is not in the file names the file and its first line', () => {
    const err = editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(block('a.py', '\n  while True:\n    pass', 'x')), ['a.py']));
    expect(err.message).toBe('SEARCH text not found in a.py (first line: "while True:")');
  });

  it('no blocks is an EditError', () => {
    expect(editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks('just prose'), ['a.py'])).message).toBe(
      'the reply contains no SEARCH/REPLACE edit block',
    );
  });

  it('an edit that changes nothing is an EditError', () => {
    const same = block('a.py', '    return -x', '    return -x');
    expect(editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(same), ['a.py'])).message).toBe('the edits change nothing');
    // two blocks that undo each other change nothing either
    const undo = `${block('a.py', 'return -x', 'return +x')}\n${block('a.py', 'return +x', 'return -x')}`;
    expect(editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(undo), ['a.py'])).message).toBe('the edits change nothing');
  });

  it('an empty SEARCH creates a new file in fnames, or fills an empty one, ending with a newline', () => {
    expect(applyEditBlocks({}, parseEditBlocks(block('new.py', '', 'print("hi")')), ['new.py'])).toEqual({ 'new.py': 'print("hi")\n' });
    expect(applyEditBlocks({ 'e.py': '\n' }, parseEditBlocks(block('e.py', '', 'x = 1\n')), ['e.py'])).toEqual({ 'e.py': 'x = 1\n' });
    expect(() => applyEditBlocks({}, parseEditBlocks(block('new.py', '', 'x')), ['a.py'])).toThrow(/refused/);
  });

  it('an empty SEARCH on a non-empty file is refused', () => {
    expect(editError(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(block('a.py', '', 'x')), ['a.py'])).message).toBe(
      'empty SEARCH for a.py, which is not empty',
    );
  });

  it('applies two blocks on the same file in sequence: the second sees the first one\'s result', () => {
    const reply = `${block('a.py', '    return -x', '    return abs(x)')}\n${block('a.py', 'return abs(x)', 'return abs(x) * 2')}`;
    const out = applyEditBlocks({ 'a.py': src }, parseEditBlocks(reply), ['a.py']);
    expect(out['a.py']).toBe(['def f(x):', '    if x > 0:', '        return x', '    return abs(x) * 2', ''].join('\n'));
  });

  it('a block whose SEARCH only exists after an earlier block fails without it', () => {
    const second = block('a.py', 'return abs(x)', 'return abs(x) * 2');
    expect(() => applyEditBlocks({ 'a.py': src }, parseEditBlocks(second), ['a.py'])).toThrow(/SEARCH text not found in a\.py/);
  });
});
