import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineSplitter, MAX_LINE_BYTES } from '../../src/exec/line-splitter';
import { CappedLog, MIB } from '../../src/exec/capped-log';
import { StoredLog } from '../../src/metrics/stored-log';
import { linesOf } from '../../src/metrics/log-lines';

let dir: string;
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'sr-bounded-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function split(chunks: (string | Buffer)[], max?: number) {
  const lines: [string, number][] = [];
  const s = new LineSplitter((l, at) => lines.push([l, at]), max);
  chunks.forEach((c, i) => s.push(Buffer.isBuffer(c) ? c : Buffer.from(c), i * 10));
  s.end();
  return lines;
}

describe('LineSplitter', () => {
  it('lines across chunks, each stamped when its last byte arrived; the unfinished last one at the end', () => {
    expect(split(['a', 'b\nc', 'd\n\ne', 'f'])).toEqual([
      ['ab', 10],
      ['cd', 20],
      ['', 20],
      ['ef', 30],
    ]);
    expect(split(['x\n'])).toEqual([['x', 0]]);
    expect(split([])).toEqual([]);
  });

  it('a character split across chunks is decoded whole', () => {
    const b = Buffer.from('grüße\n');
    expect(split([b.subarray(0, 3), b.subarray(3)])).toEqual([['grüße', 10]]);
  });

  it('a line longer than the limit is cut, and the next line is whole', () => {
    const long = 'x'.repeat(MAX_LINE_BYTES * 3);
    const lines = split([long.slice(0, 100), long.slice(100), '\nnext\n']);
    expect(lines.map(([l]) => l.length)).toEqual([MAX_LINE_BYTES, 4]);
    expect(lines[1]).toEqual(['next', 20]);
    expect(split(['abcdefgh\nij'], 4)).toEqual([
      ['abcd', 0],
      ['ij', 0],
    ]);
  });

  it('100 MB without a newline: one pass, well under a few seconds, one cut line', () => {
    const chunk = Buffer.alloc(64 * 1024, 'y');
    let n = 0;
    const s = new LineSplitter(() => n++);
    const started = performance.now();
    for (let i = 0; i < 1600; i++) s.push(chunk, i);
    s.end();
    const ms = performance.now() - started;
    expect(n).toBe(1);
    expect(ms).toBeLessThan(2000);
  });
});

describe('CappedLog', () => {
  it('under the cap: the log is exactly what was written, no marker', async () => {
    const path = join(dir, 'a.log');
    const log = new CappedLog(path, 100);
    log.note('# a harness note');
    for (let i = 0; i < 10; i++) log.write(Buffer.from(`line ${i}\n`));
    expect(log.over).toBe(false);
    await log.close();
    expect(readFileSync(path, 'utf8')).toBe(
      `# a harness note\n${Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join('')}`,
    );
  });

  it('over the cap: head and latest tail kept, a marker between, the file about the cap', async () => {
    const path = join(dir, 'b.log');
    const cap = MIB;
    const log = new CappedLog(path, cap);
    let written = 0;
    for (let i = 0; written <= 3 * cap; i++) {
      const line = Buffer.from(`line ${i} ${'z'.repeat(i % 50)}\n`);
      log.write(line);
      written += line.length;
      if (written <= cap) expect(log.over).toBe(false);
    }
    expect(log.over).toBe(true);
    log.write(Buffer.from('THE LAST LINE\n'));
    await log.close();
    const text = readFileSync(path, 'utf8');
    expect(statSync(path).size).toBeLessThan(cap + 200);
    expect(text.startsWith('line 0 \nline 1 z\n')).toBe(true);
    expect(text.endsWith('THE LAST LINE\n')).toBe(true);
    expect(text).toMatch(
      /\n\[speedrunner: output limit \(1 MiB\): \d+ bytes cut here; the first 524288 and the last 524288 bytes are kept\]\n/,
    );
    const cut = Number(/(\d+) bytes cut/.exec(text)![1]);
    expect(cut + cap).toBe(written + 'THE LAST LINE\n'.length);
  });
});

describe('StoredLog / linesOf', () => {
  it('lines of bytes as a string split would give them, long lines cut', () => {
    const text = 'a\nbb\n\nccc';
    expect([...new StoredLog(Buffer.from(text)).lines()]).toEqual(text.split('\n'));
    expect([...new StoredLog(Buffer.from('x\n')).lines()]).toEqual(['x', '']);
    expect([...linesOf(text)]).toEqual(text.split('\n'));
    expect([...linesOf(['p', 'q'])]).toEqual(['p', 'q']);
    const long = [...new StoredLog(Buffer.from(`${'l'.repeat(MAX_LINE_BYTES + 5)}\nend`)).lines()];
    expect(long.map((l) => l.length)).toEqual([MAX_LINE_BYTES, 3]);
  });

  it('tail: the last bytes, from a character boundary, saying how much came before', () => {
    const log = new StoredLog(Buffer.from('ääää tail'));
    expect(log.tail(100)).toBe('ääää tail');
    // 'ääää' is 8 bytes, ' tail' 5.
    expect(log.tail(6)).toBe('[… 8 bytes cut …]\n tail'); // the last 6 bytes begin inside an ä
    expect(log.tail(7)).toBe('[… 6 bytes cut …]\nä tail');
    expect(log.tail(8)).toBe('[… 6 bytes cut …]\nä tail');
  });
});
