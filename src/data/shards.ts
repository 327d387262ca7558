/**
 * The speedrun's `.bin` token shard format (as written by modded-nanogpt's data scripts and
 * read by every record's `_load_data_shard`):
 *   header: 256 little-endian int32 — [0] magic 20240520, [1] version 1, [2] token count;
 *   body:   the tokens as little-endian uint16.
 */
import { open, readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { endianness } from 'node:os';

// On little-endian hosts (all the usual ones) uint16 arrays already have the file's byte order.
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

export const SHARD_MAGIC = 20240520;
export const SHARD_VERSION = 1;
export const HEADER_INTS = 256;
export const HEADER_BYTES = HEADER_INTS * 4;

export interface ShardHeader {
  path: string;
  magic: number;
  version: number;
  tokenCount: number;
  byteLength: number;
}

/** The header and token bytes of a shard, as one buffer. */
export function encodeShard(tokens: Uint16Array | readonly number[]): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES + tokens.length * 2);
  buf.writeInt32LE(SHARD_MAGIC, 0);
  buf.writeInt32LE(SHARD_VERSION, 4);
  buf.writeInt32LE(tokens.length, 8);
  if (tokens instanceof Uint16Array && LITTLE_ENDIAN_HOST) {
    Buffer.from(tokens.buffer, tokens.byteOffset, tokens.byteLength).copy(buf, HEADER_BYTES);
  } else if (tokens instanceof Uint16Array) {
    for (let i = 0; i < tokens.length; i++) buf.writeUInt16LE(tokens[i], HEADER_BYTES + 2 * i);
  } else {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      // A token id that does not fit uint16 would silently wrap: refuse it.
      if (!Number.isInteger(t) || t < 0 || t > 0xffff)
        throw new Error(`token ${t} at index ${i} does not fit in uint16`);
      buf.writeUInt16LE(t, HEADER_BYTES + 2 * i);
    }
  }
  return buf;
}

/** Writes a shard, creating its directory. */
export async function writeShard(path: string, tokens: Uint16Array | readonly number[]): Promise<void> {
  if (tokens.length > 0x7fffffff) throw new Error(`${path}: ${tokens.length} tokens do not fit the int32 header`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, encodeShard(tokens));
}

function checkHeader(path: string, header: Buffer, fileBytes: number): ShardHeader {
  if (fileBytes < HEADER_BYTES) {
    throw new Error(`${path}: not a speedrun shard: ${fileBytes} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  }
  const magic = header.readInt32LE(0);
  const version = header.readInt32LE(4);
  const tokenCount = header.readInt32LE(8);
  if (magic !== SHARD_MAGIC) throw new Error(`${path}: bad magic number ${magic} (expected ${SHARD_MAGIC})`);
  if (version !== SHARD_VERSION)
    throw new Error(`${path}: unsupported shard version ${version} (expected ${SHARD_VERSION})`);
  const expected = HEADER_BYTES + 2 * tokenCount;
  if (tokenCount < 0 || fileBytes !== expected) {
    throw new Error(
      `${path}: size mismatch: header says ${tokenCount} tokens (${expected} bytes) but the file has ${fileBytes} bytes`,
    );
  }
  return { path, magic, version, tokenCount, byteLength: fileBytes };
}

/** Reads and checks a shard's header without reading its tokens. */
export async function readShardHeader(path: string): Promise<ShardHeader> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const header = Buffer.alloc(HEADER_BYTES);
    await fh.read(header, 0, HEADER_BYTES, 0);
    return checkHeader(path, header, size);
  } finally {
    await fh.close();
  }
}

/** Reads a shard's tokens, after checking its header against the file. */
export async function readShardTokens(path: string): Promise<Uint16Array> {
  const buf = await readFile(path);
  const { tokenCount } = checkHeader(path, buf, buf.length);
  const tokens = new Uint16Array(tokenCount);
  if (LITTLE_ENDIAN_HOST) {
    buf.copy(Buffer.from(tokens.buffer), 0, HEADER_BYTES);
    return tokens;
  }
  for (let i = 0; i < tokenCount; i++) tokens[i] = buf.readUInt16LE(HEADER_BYTES + 2 * i);
  return tokens;
}
