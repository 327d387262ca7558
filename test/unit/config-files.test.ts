import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFiles, loadTask, readYamlFile } from '../../src/config/load';

// The parsed-config-file cache is an object its owner (a sweep submission) holds, not process state.

let dir: string;
let savedPath: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sr-config-files-'));
  savedPath = process.env.SPEEDRUNNER_TASK_PATH;
});
afterEach(() => {
  if (savedPath === undefined) delete process.env.SPEEDRUNNER_TASK_PATH;
  else process.env.SPEEDRUNNER_TASK_PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

const FIXED_MTIME_S = 1_700_000_000; // whole seconds: set and read back exactly on every filesystem

/** Writes a file with a fixed mtime. */
function writeDated(file: string, text: string) {
  writeFileSync(file, text);
  utimesSync(file, FIXED_MTIME_S, FIXED_MTIME_S);
}

/** Rewrites a file with content of the same size and the same mtime: only a cache keyed by (mtime, size) misses it. */
function rewriteUnnoticed(file: string, text: string) {
  expect(statSync(file).size).toBe(Buffer.byteLength(text));
  writeDated(file, text);
}

describe('ConfigFiles', () => {
  it('parses a file once while its mtime and size hold; without one, every read parses', () => {
    const file = join(dir, 'a.yaml');
    writeDated(file, 'value: 1\n');
    const files = new ConfigFiles();
    expect(files.read(file)).toEqual({ value: 1 });
    rewriteUnnoticed(file, 'value: 2\n');
    expect(readYamlFile(file, files)).toEqual({ value: 1 }); // the parsed copy
    expect(readYamlFile(file)).toEqual({ value: 2 }); // no cache: read afresh
    expect(new ConfigFiles().read(file)).toEqual({ value: 2 }); // another owner's cache is its own
    writeFileSync(file, 'value: 33\n'); // a different size: seen even where mtimes are coarse
    expect(files.read(file)).toEqual({ value: 33 });
  });

  it('hands out copies: a caller changing what it read leaves the next read as the file says', () => {
    const file = join(dir, 'b.yaml');
    writeFileSync(file, 'list: [a]\n');
    const files = new ConfigFiles();
    (files.read(file) as { list: string[] }).list.push('b');
    expect(files.read(file)).toEqual({ list: ['a'] });
  });

  it('loadTask reads through the cache it is given', () => {
    mkdirSync(join(dir, 'config', 'task'), { recursive: true });
    const file = join(dir, 'config', 'task', 'cached.yaml');
    const task = (timeout: number) =>
      `description: d\nworkspace_template: w\nfnames: [a.py]\nentry_fname: a.py\ntimeout_s: ${timeout}\nselection_metric: s\n`;
    writeDated(file, task(3));
    process.env.SPEEDRUNNER_TASK_PATH = dir;
    const files = new ConfigFiles();
    expect(loadTask('cached', files).timeout_s).toBe(3);
    rewriteUnnoticed(file, task(4));
    expect(loadTask('cached', files).timeout_s).toBe(3);
    expect(loadTask('cached').timeout_s).toBe(4);
  });
});
