import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEADER_BYTES, encodeShard, readShardHeader, readShardTokens, writeShard } from '../../src/data/shards';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shards-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The layout built by hand: 256 int32 LE header, then uint16 LE tokens. */
function handBuilt(magic: number, version: number, count: number, tokens: number[]): Buffer {
  const bytes: number[] = [];
  const int32 = (v: number) => bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  int32(magic);
  int32(version);
  int32(count);
  for (let i = 3; i < 256; i++) int32(0);
  for (const t of tokens) bytes.push(t & 0xff, t >>> 8);
  return Buffer.from(bytes);
}

describe('shards', () => {
  it('writes exactly the speedrun layout, byte by byte', async () => {
    const tokens = [0, 1, 50256, 65535, 258, 7];
    const path = join(dir, 'sub', 'a.bin');
    await writeShard(path, tokens);
    const bytes = await readFile(path);
    expect(bytes.length).toBe(1024 + 12);
    expect(bytes.equals(handBuilt(20240520, 1, 6, tokens))).toBe(true);
    // 20240520 = 0x0134D888, little-endian first
    expect([...bytes.subarray(0, 12)]).toEqual([0x88, 0xd8, 0x34, 0x01, 1, 0, 0, 0, 6, 0, 0, 0]);
    expect([...bytes.subarray(1024, 1030)]).toEqual([0, 0, 1, 0, 0x50, 0xc4]); // 50256 = 0xC450
  });

  it('round-trips numbers and Uint16Array', async () => {
    const arr = Uint16Array.from({ length: 5000 }, (_, i) => (i * 7919) % 65536);
    const p1 = join(dir, 'r1.bin');
    const p2 = join(dir, 'r2.bin');
    await writeShard(p1, arr);
    await writeShard(p2, Array.from(arr));
    expect(await readShardTokens(p1)).toEqual(arr);
    expect((await readFile(p1)).equals(await readFile(p2))).toBe(true);
    expect(await readShardHeader(p1)).toEqual({
      path: p1,
      magic: 20240520,
      version: 1,
      tokenCount: 5000,
      byteLength: 1024 + 10000,
    });
  });

  it('writes an empty shard as a bare header', async () => {
    const p = join(dir, 'empty.bin');
    await writeShard(p, []);
    expect((await readFile(p)).length).toBe(HEADER_BYTES);
    expect(await readShardTokens(p)).toEqual(new Uint16Array(0));
  });

  it('refuses tokens that do not fit uint16', () => {
    expect(() => encodeShard([1, 65536])).toThrow(/65536 at index 1/);
    expect(() => encodeShard([1.5])).toThrow(/does not fit/);
  });

  it('names the file on a bad magic, version, size or truncated header', async () => {
    const bad = join(dir, 'bad-magic.bin');
    await writeFile(bad, handBuilt(20240801, 1, 2, [1, 2]));
    await expect(readShardHeader(bad)).rejects.toThrow(`${bad}: bad magic number 20240801 (expected 20240520)`);
    await expect(readShardTokens(bad)).rejects.toThrow(/bad-magic\.bin: bad magic/);

    const badVersion = join(dir, 'bad-version.bin');
    await writeFile(badVersion, handBuilt(20240520, 7, 2, [1, 2]));
    await expect(readShardHeader(badVersion)).rejects.toThrow(/bad-version\.bin: unsupported shard version 7/);

    const short = join(dir, 'short.bin');
    await writeFile(short, handBuilt(20240520, 1, 3, [1, 2]));
    await expect(readShardHeader(short)).rejects.toThrow(
      /short\.bin: size mismatch: header says 3 tokens \(1030 bytes\) but the file has 1028 bytes/,
    );

    const tiny = join(dir, 'tiny.bin');
    await writeFile(tiny, Buffer.alloc(10));
    await expect(readShardTokens(tiny)).rejects.toThrow(/tiny\.bin: not a speedrun shard: 10 bytes/);
  });
});
