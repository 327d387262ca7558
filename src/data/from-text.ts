/**
 * Turns local text into speedrun shards, offline: GPT-2 BPE from js-tiktoken's bundled ranks,
 * every document prefixed by `<|endoftext|>` (50256) as the FineWeb shards are, the first
 * `valTokens` tokens into `<prefix>_val_000000.bin` and the rest into `<prefix>_train_%06d.bin`
 * (numbered from 1, like the published shards).
 *
 * Also regenerates tiktoken's GPT-2 cache files (vocab.bpe, encoder.json) from the same ranks,
 * so Python `tiktoken.get_encoding("gpt2")` works on machines without network access.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { writeShard } from './shards';

export const EOT_TOKEN = 50256;

let encoder: Tiktoken | undefined;
/** The GPT-2 encoder, built once (parsing the ranks takes a few hundred ms). */
export function gpt2Encoder(): Tiktoken {
  encoder ??= new Tiktoken(gpt2Ranks);
  return encoder;
}

/** Tokens of one document: EOT first, then the text encoded as ordinary text (no special tokens). */
export function encodeDocument(text: string): number[] {
  // `[], []`: like tiktoken's encode_ordinary, a literal "<|endoftext|>" in the text stays text.
  return [EOT_TOKEN, ...gpt2Encoder().encode(text, [], [])];
}

/**
 * The documents of one file: each line's `text` field for `.jsonl` (FineWeb-style dumps),
 * else the whole file, or its pieces between `separator` when one is given.
 */
export function documentsFromText(path: string, text: string, separator?: string): string[] {
  if (path.endsWith('.jsonl')) {
    return text.split('\n').flatMap((line, i) => {
      if (line.trim() === '') return [];
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        throw new Error(`${path}:${i + 1}: not valid JSON`);
      }
      const doc = (row as { text?: unknown } | null)?.text;
      if (typeof doc !== 'string') throw new Error(`${path}:${i + 1}: no string "text" field`);
      return [doc];
    });
  }
  if (separator) return text.split(separator).filter((d) => d.trim() !== '');
  return [text];
}

export interface TokenizeOptions {
  /** Tokens per train shard (default 100M, as the published shards). */
  shardTokens?: number;
  /** Tokens in the val shard. Default: valFraction of the corpus, at most one shard. */
  valTokens?: number;
  /** Used only when valTokens is not given (default 0.1). */
  valFraction?: number;
  /** File name prefix (default `fineweb`). */
  prefix?: string;
  /** Splits plain-text files into documents; default: one document per file. */
  documentSeparator?: string;
}

export interface ShardFile {
  path: string;
  split: 'val' | 'train';
  tokens: number;
}

export interface TokenizeResult {
  files: ShardFile[];
  documents: number;
  totalTokens: number;
  /** Old `<prefix>_{val,train}_NNNNNN.bin` files this run did not rewrite, deleted so globs see only fresh shards. */
  removed: string[];
}

/** Cuts a token stream into the val shard, then train shards, writing each when full. */
class ShardSink {
  readonly files: ShardFile[] = [];
  private buf: Uint16Array;
  private fill = 0;
  private trainIndex = 0;

  constructor(
    private readonly outDir: string,
    private readonly prefix: string,
    valTokens: number,
    private readonly shardTokens: number,
  ) {
    this.buf = new Uint16Array(valTokens);
  }

  async push(tokens: ArrayLike<number>): Promise<void> {
    let off = 0;
    while (off < tokens.length) {
      const n = Math.min(this.buf.length - this.fill, tokens.length - off);
      if (tokens instanceof Uint16Array) this.buf.set(tokens.subarray(off, off + n), this.fill);
      else for (let i = 0; i < n; i++) this.buf[this.fill + i] = tokens[off + i];
      this.fill += n;
      off += n;
      if (this.fill === this.buf.length) await this.flush();
    }
  }

  async flush(): Promise<void> {
    if (this.fill === 0) return;
    const isVal = this.files.length === 0;
    const name = isVal
      ? `${this.prefix}_val_000000.bin`
      : `${this.prefix}_train_${String(this.trainIndex).padStart(6, '0')}.bin`;
    const path = join(this.outDir, name);
    await writeShard(path, this.buf.subarray(0, this.fill));
    this.files.push({ path, split: isVal ? 'val' : 'train', tokens: this.fill });
    this.trainIndex++;
    if (this.buf.length !== this.shardTokens) this.buf = new Uint16Array(this.shardTokens);
    this.fill = 0;
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Tokenizes `files` (in the order given) into shards under `outDir`. With `valTokens` given the
 * corpus streams through; without it every token is held (2 bytes each) until the total is known.
 */
export async function tokenizeFilesToShards(
  files: readonly string[],
  outDir: string,
  opts: TokenizeOptions = {},
): Promise<TokenizeResult> {
  const shardTokens = positiveInt('shardTokens', opts.shardTokens ?? 100_000_000);
  const prefix = opts.prefix ?? 'fineweb';
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`bad shard prefix "${prefix}"`);
  if (files.length === 0) throw new Error('no input files to tokenize');
  await mkdir(outDir, { recursive: true });

  let documents = 0;
  let totalTokens = 0;
  async function* tokenStream(): AsyncGenerator<Uint16Array> {
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      for (const doc of documentsFromText(file, text, opts.documentSeparator)) {
        const tokens = Uint16Array.from(encodeDocument(doc));
        documents++;
        totalTokens += tokens.length;
        yield tokens;
      }
    }
  }

  let sink: ShardSink;
  if (opts.valTokens !== undefined) {
    sink = new ShardSink(outDir, prefix, positiveInt('valTokens', opts.valTokens), shardTokens);
    for await (const tokens of tokenStream()) await sink.push(tokens);
  } else {
    const held: Uint16Array[] = [];
    for await (const tokens of tokenStream()) held.push(tokens);
    const fraction = opts.valFraction ?? 0.1;
    if (!(fraction > 0 && fraction < 1)) throw new Error(`valFraction must be in (0, 1), got ${fraction}`);
    const valTokens = Math.max(1, Math.min(shardTokens, Math.round(fraction * totalTokens)));
    sink = new ShardSink(outDir, prefix, valTokens, shardTokens);
    for (const tokens of held) await sink.push(tokens);
  }
  await sink.flush();

  if (!sink.files.some((f) => f.split === 'train')) {
    throw new Error(
      `corpus too small: ${totalTokens} tokens from ${files.join(', ')} fill only the val shard ` +
        `(${sink.files[0]?.tokens ?? 0} tokens); nothing is left for training`,
    );
  }

  // Shards of an earlier, bigger run would still match `<prefix>_train_*.bin`: remove them.
  const written = new Set(sink.files.map((f) => basename(f.path)));
  const ours = new RegExp(`^${prefix.replace(/[.]/g, '\\.')}_(val|train)_\\d{6}\\.bin$`);
  const removed: string[] = [];
  for (const name of (await readdir(outDir)).sort()) {
    if (ours.test(name) && !written.has(name)) {
      await rm(join(outDir, name));
      removed.push(join(outDir, name));
    }
  }
  return { files: sink.files, documents, totalTokens, removed };
}

// ───────────────────────── tiktoken's GPT-2 cache files ─────────────────────────

/** Where tiktoken fetches the GPT-2 files, and the sha256 it checks them against. */
export const GPT2_DATA_GYM_FILES = {
  'vocab.bpe': {
    url: 'https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe',
    sha256: '1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5',
  },
  'encoder.json': {
    url: 'https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json',
    sha256: '196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783',
  },
} as const;

/**
 * GPT-2's byte ↔ character table ("data gym"): printable Latin-1 bytes stand for themselves,
 * the other 68 bytes map to U+0100 onwards, in byte order. Single-byte ranks follow the same
 * order (printable bytes first), which the caller checks against the bundled ranks.
 */
function dataGymTable(): { byteOrder: number[]; charOf: string[] } {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const byteOrder: number[] = [];
  const charOf: string[] = new Array(256);
  for (let b = 0; b < 256; b++) {
    if (printable(b)) {
      byteOrder.push(b);
      charOf[b] = String.fromCharCode(b);
    }
  }
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable(b)) {
      byteOrder.push(b);
      charOf[b] = String.fromCharCode(256 + n++);
    }
  }
  return { byteOrder, charOf };
}

/**
 * Rebuilds GPT-2's `vocab.bpe` (the merge list) and `encoder.json` from js-tiktoken's ranks.
 * The ranks hold each token's bytes but not which pair was merged to make it; that pair is
 * recovered by running BPE on the token's bytes with only the lower-ranked merges, which must
 * leave exactly two parts. The output is checked against tiktoken's own sha256 digests.
 */
export function gpt2DataGymFiles(): Record<keyof typeof GPT2_DATA_GYM_FILES, Buffer> {
  // Token bytes as Latin-1 strings: one char per byte, cheap to concatenate and hash.
  const tokens = gpt2Ranks.bpe_ranks
    .split(' ')
    .slice(2) // "! 0": a placeholder and the first rank's offset
    .map((b64) => Buffer.from(b64, 'base64').toString('latin1'));
  const rankOf = new Map(tokens.map((t, i) => [t, i]));
  const { byteOrder, charOf } = dataGymTable();
  byteOrder.forEach((b, i) => {
    if (tokens[i] !== String.fromCharCode(b)) throw new Error(`gpt2 ranks: rank ${i} is not the single byte ${b}`);
  });
  const show = (t: string) => Array.from(t, (c) => charOf[c.charCodeAt(0)]).join('');

  const merges: string[] = [];
  for (let r = 256; r < tokens.length; r++) {
    const parts = Array.from(tokens[r]);
    while (parts.length > 2) {
      let best = -1;
      let bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rank = rankOf.get(parts[i] + parts[i + 1]);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) throw new Error(`gpt2 ranks: cannot recover the merge that makes rank ${r}`);
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    merges.push(`${show(parts[0])} ${show(parts[1])}`);
  }
  const vocabBpe = `#version: 0.2\n${merges.join('\n')}\n`;

  // Python's json.dumps defaults: ", " and ": " separators, non-ASCII escaped as \uXXXX.
  const pyString = (s: string) =>
    JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const entries = tokens.map((t, i) => `${pyString(show(t))}: ${i}`);
  entries.push(`${pyString('<|endoftext|>')}: ${EOT_TOKEN}`);
  const encoderJson = `{${entries.join(', ')}}`;

  const out = { 'vocab.bpe': Buffer.from(vocabBpe, 'utf8'), 'encoder.json': Buffer.from(encoderJson, 'utf8') };
  for (const [name, { sha256 }] of Object.entries(GPT2_DATA_GYM_FILES)) {
    const got = createHash('sha256')
      .update(out[name as keyof typeof out])
      .digest('hex');
    if (got !== sha256) throw new Error(`regenerated ${name} has sha256 ${got}, tiktoken expects ${sha256}`);
  }
  return out;
}

export interface CacheFile {
  name: string;
  url: string;
  path: string;
  written: boolean;
}

/**
 * Writes the GPT-2 files where Python tiktoken looks first: `$TIKTOKEN_CACHE_DIR/<sha1(url)>`.
 * Files already there with the right digest are left alone.
 */
export async function writeTiktokenGpt2Cache(cacheDir: string): Promise<CacheFile[]> {
  await mkdir(cacheDir, { recursive: true });
  let files: ReturnType<typeof gpt2DataGymFiles> | undefined;
  const result: CacheFile[] = [];
  for (const [name, { url, sha256 }] of Object.entries(GPT2_DATA_GYM_FILES)) {
    const path = join(cacheDir, createHash('sha1').update(url).digest('hex'));
    const existing = await readFile(path).catch(() => undefined);
    if (existing && createHash('sha256').update(existing).digest('hex') === sha256) {
      result.push({ name, url, path, written: false });
      continue;
    }
    files ??= gpt2DataGymFiles();
    await writeFile(path, files[name as keyof typeof files]);
    result.push({ name, url, path, written: true });
  }
  return result;
}
