// `speedrunner data from-text|fineweb`: making or fetching speedrun token shards.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { table } from './render';
import { ConfigError } from '../../src/config/load';
import { FINEWEB_BASE_URL, downloadFineweb, finewebFileNames, type DownloadProgress } from '../../src/data/fineweb';
import { tokenizeFilesToShards } from '../../src/data/from-text';
import { homeDir } from '../../src/paths';

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('training data for speedrun tasks (.bin token shards)');
  data
    .command('from-text')
    .argument('<files...>', 'text files (.txt: one document each; .jsonl: one document per line, its "text" field)')
    .requiredOption('--out <dir>', 'directory for fineweb_val_000000.bin and fineweb_train_NNNNNN.bin')
    .option('--shard-tokens <n>', 'tokens per train shard', '100000000')
    .option('--val-tokens <n>', 'tokens in the val shard (default: 10% of the corpus)')
    .option('--json', 'machine-readable output')
    .description('tokenize local text with GPT-2 BPE into speedrun shards, offline')
    .action((files, opts) => fromText(files, opts));
  data
    .command('fineweb')
    .requiredOption('--train-shards <n>', 'train shards to fetch, 1..103 (100M tokens, ~200 MB each)')
    .option('--out <dir>', 'target directory (default: <home>/data/fineweb10B)')
    .description(
      'download GPT-2-tokenized FineWeb shards from Hugging Face (kjj0/fineweb10B-gpt2), resumable; honours HF_ENDPOINT',
    )
    .action((opts) => fineweb(opts));
}

function positiveInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(String(raw).replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${flag} must be a positive integer, got '${raw}'`);
  return n;
}

/** The overrides that point a run at shards in dir. */
const dataOverrides = (dir: string) =>
  `data.train_files='${dir}/fineweb_train_*.bin' data.val_files='${dir}/fineweb_val_*.bin'`;

async function fromText(
  files: string[],
  opts: { out: string; shardTokens: string; valTokens?: string; json?: boolean },
) {
  for (const f of files) if (!existsSync(f) || !statSync(f).isFile()) throw new ConfigError(`no such file: ${f}`);
  const out = resolve(opts.out);
  const res = await tokenizeFilesToShards(files, out, {
    shardTokens: positiveInt('--shard-tokens', opts.shardTokens),
    valTokens: positiveInt('--val-tokens', opts.valTokens),
  });
  if (opts.json) {
    console.log(JSON.stringify({ out, ...res }));
    return;
  }
  console.log(`${res.totalTokens} tokens from ${res.documents} document(s) in ${files.length} file(s):`);
  for (const line of table(res.files.map((f) => [`  ${f.path}`, f.split, `${f.tokens} tokens`]))) console.log(line);
  for (const r of res.removed) console.log(`  removed stale ${r}`);
  const val = res.files[0].tokens;
  console.log(`use: ${dataOverrides(out)} data.val_tokens=<below ${val}, a multiple of the sequence length>`);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** A one-line bar redrawn in place on a terminal; plain start/finish lines otherwise (logs, CI). */
function progressPrinter() {
  const tty = Boolean(process.stderr.isTTY);
  let last = 0;
  // Rate is measured from the first bytes of this attempt (a server may ignore the resume and start over).
  let base: { at: number; bytes: number } | undefined;
  let drawn = false;
  return {
    start(name: string, from: number) {
      base = undefined;
      if (!tty) console.log(from > 0 ? `resuming ${name} at ${mb(from)}` : `downloading ${name}`);
    },
    progress({ name, received, total }: DownloadProgress) {
      base ??= { at: Date.now(), bytes: received };
      if (!tty || Date.now() - last < 100) return;
      last = Date.now();
      const frac = total ? received / total : 0;
      const width = 30;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      const secs = (Date.now() - base.at) / 1000;
      const rate = secs > 0.5 ? ` ${mb((received - base.bytes) / secs)}/s` : '';
      process.stderr.write(
        `\r${name} [${bar}] ${(100 * frac).toFixed(0).padStart(3)}% ${mb(received)}${total ? ` / ${mb(total)}` : ''}${rate}\x1b[K`,
      );
      drawn = true;
    },
    end() {
      if (drawn) process.stderr.write('\r\x1b[K');
      drawn = false;
    },
    retry(name: string, attempt: number, err: Error) {
      this.end();
      console.log(`${name}: ${err.message}; retrying (attempt ${attempt + 1})`);
    },
  };
}

async function fineweb(opts: { trainShards: string; out?: string }) {
  const n = positiveInt('--train-shards', opts.trainShards)!;
  try {
    finewebFileNames(n);
  } catch (err) {
    throw new ConfigError(`--train-shards: ${(err as Error).message}`);
  }
  const out = resolve(opts.out ?? join(homeDir(), 'data', 'fineweb10B'));
  // HF_ENDPOINT is how Hugging Face tools are pointed at a mirror.
  const baseUrl = process.env.HF_ENDPOINT
    ? `${process.env.HF_ENDPOINT.replace(/\/$/, '')}/datasets/kjj0/fineweb10B-gpt2/resolve/main`
    : FINEWEB_BASE_URL;
  const bar = progressPrinter();
  let files;
  try {
    files = await downloadFineweb(out, n, {
      baseUrl,
      onFileStart: (name, from) => bar.start(name, from),
      onProgress: (p) => bar.progress(p),
      onRetry: (name, attempt, err) => bar.retry(name, attempt, err),
    });
  } finally {
    bar.end();
  }
  for (const f of files) {
    const how = f.outcome === 'present' ? 'already present' : f.outcome;
    console.log(`${f.path}: ${f.tokens.toLocaleString('en')} tokens (${mb(f.bytes)}), ${how}`);
  }
  console.log(`use: ${dataOverrides(out)}`);
}
