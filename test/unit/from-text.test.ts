import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2 from 'js-tiktoken/ranks/gpt2';
import {
  EOT_TOKEN,
  GPT2_DATA_GYM_FILES,
  documentsFromText,
  tokenizeFilesToShards,
  writeTiktokenGpt2Cache,
} from '../../src/data/from-text';
import { readShardTokens } from '../../src/data/shards';

const enc = new Tiktoken(gpt2);
const DOCS = {
  'a.txt': 'Hello world! The quick brown fox jumps over the lazy dog.\nSecond line, with ümlauts and emoji 🚀.',
  'b.txt': 'A literal <|endoftext|> inside text stays ordinary text.',
  'c.jsonl': [
    '{"text": "First JSONL document about speedruns."}',
    '',
    '{"text": "Second one: val_loss 3.28 in 3 minutes.", "id": 2}',
  ].join('\n'),
};
const DOC_TEXTS = [
  DOCS['a.txt'],
  DOCS['b.txt'],
  'First JSONL document about speedruns.',
  'Second one: val_loss 3.28 in 3 minutes.',
];
// What the shards must hold, from js-tiktoken directly: EOT before each document.
const EXPECTED = DOC_TEXTS.flatMap((d) => [EOT_TOKEN, ...enc.encode(d, [], [])]);

let dir: string;
let inputs: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'from-text-'));
  inputs = [];
  for (const [name, text] of Object.entries(DOCS)) {
    await writeFile(join(dir, name), text);
    inputs.push(join(dir, name));
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function concatShards(paths: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of paths) out.push(...(await readShardTokens(p)));
  return out;
}

describe('documentsFromText', () => {
  it('reads jsonl text fields and names the bad line', () => {
    expect(documentsFromText('x.jsonl', DOCS['c.jsonl'])).toEqual(DOC_TEXTS.slice(2));
    expect(() => documentsFromText('/d/x.jsonl', '{"text":"ok"}\n{oops')).toThrow('/d/x.jsonl:2: not valid JSON');
    expect(() => documentsFromText('/d/x.jsonl', '{"body":"no"}')).toThrow('/d/x.jsonl:1: no string "text" field');
  });

  it('splits plain text only when asked', () => {
    expect(documentsFromText('a.txt', 'one\n\n\ntwo')).toEqual(['one\n\n\ntwo']);
    expect(documentsFromText('a.txt', 'one\n\n\ntwo\n\n\n', '\n\n\n')).toEqual(['one', 'two']);
  });
});

describe('tokenizeFilesToShards', () => {
  it('writes val then train shards whose tokens equal js-tiktoken encode + EOT per document', async () => {
    const out = join(dir, 'shards');
    const res = await tokenizeFilesToShards(inputs, out, { shardTokens: 20, valTokens: 13 });
    expect(res.documents).toBe(4);
    expect(res.totalTokens).toBe(EXPECTED.length);
    const names = res.files.map((f) => basename(f.path));
    const nTrain = Math.ceil((EXPECTED.length - 13) / 20);
    expect(names).toEqual([
      'fineweb_val_000000.bin',
      ...Array.from({ length: nTrain }, (_, i) => `fineweb_train_${String(i + 1).padStart(6, '0')}.bin`),
    ]);
    expect(res.files[0]).toMatchObject({ split: 'val', tokens: 13 });
    expect(res.files.slice(1, -1).every((f) => f.split === 'train' && f.tokens === 20)).toBe(true);
    expect(res.files.reduce((s, f) => s + f.tokens, 0)).toBe(EXPECTED.length);
    expect(await concatShards(res.files.map((f) => f.path))).toEqual(EXPECTED);
    // the literal "<|endoftext|>" in b.txt is text: 50256 appears once per document only
    expect(EXPECTED.filter((t) => t === EOT_TOKEN)).toHaveLength(4);
    expect((await readdir(out)).sort()).toEqual([...names].sort());
  });

  it('defaults the val shard to 10% of the corpus and removes stale shards of an earlier run', async () => {
    const out = join(dir, 'shards2');
    const first = await tokenizeFilesToShards(inputs, out, { shardTokens: 5, valTokens: 5 });
    expect(first.files.length).toBeGreaterThan(5);
    const res = await tokenizeFilesToShards(inputs, out, { shardTokens: 1000, prefix: 'fineweb' });
    expect(res.files.map((f) => [basename(f.path), f.tokens])).toEqual([
      ['fineweb_val_000000.bin', Math.round(0.1 * EXPECTED.length)],
      ['fineweb_train_000001.bin', EXPECTED.length - Math.round(0.1 * EXPECTED.length)],
    ]);
    expect(res.removed.length).toBe(first.files.length - 2);
    expect((await readdir(out)).sort()).toEqual(['fineweb_train_000001.bin', 'fineweb_val_000000.bin']);
    expect(await concatShards(res.files.map((f) => f.path))).toEqual(EXPECTED);
  });

  it('refuses a corpus that leaves nothing for training, naming the input', async () => {
    await expect(tokenizeFilesToShards([inputs[1]], join(dir, 'shards3'), { valTokens: 10_000 })).rejects.toThrow(
      new RegExp(`corpus too small: \\d+ tokens from ${inputs[1]}`),
    );
  });
});

describe('writeTiktokenGpt2Cache', () => {
  it('regenerates the exact files tiktoken downloads, under sha1(url) names', async () => {
    const cache = join(dir, 'tiktoken-cache');
    const files = await writeTiktokenGpt2Cache(cache);
    expect(files.map((f) => f.written)).toEqual([true, true]);
    for (const f of files) {
      const spec = GPT2_DATA_GYM_FILES[f.name as keyof typeof GPT2_DATA_GYM_FILES];
      expect(basename(f.path)).toBe(createHash('sha1').update(spec.url).digest('hex'));
      const bytes = await readFile(f.path);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(spec.sha256);
    }
    const vocab = (await readFile(files[0].path, 'utf8')).split('\n');
    expect(vocab[0]).toBe('#version: 0.2');
    expect(vocab[1]).toBe('Ġ t'); // GPT-2's first merge
    expect(vocab).toHaveLength(50000 + 2);
    // known file names (sha1 of the URLs) and idempotence
    expect(basename(files[0].path)).toBe('6d1cbeee0f20b3d9449abfede4726ed8212e3aee');
    expect((await writeTiktokenGpt2Cache(cache)).map((f) => f.written)).toEqual([false, false]);
  });
});
