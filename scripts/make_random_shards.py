#!/usr/bin/env python3
"""Write token shards in the NanoGPT speedrun `.bin` format, filled with random tokens.

For smoke tests and throughput measurements where no FineWeb data is at hand. Format: a header
of 256 little-endian int32 (magic 20240520, version 1, token count, zeros), then the tokens as
little-endian uint16.

  python3 scripts/make_random_shards.py --out /tmp/shards --train-tokens 20000000 --val-tokens 1048577
  NANOGPT_TRAIN_FILES='/tmp/shards/train_*.bin' NANOGPT_VAL_FILES='/tmp/shards/val_*.bin' ...

--kind uniform: i.i.d. tokens (loss stays near ln(vocab), fine for speed);
--kind repeat:  a random block of --period tokens repeated (a model can learn it: loss falls).
"""

import argparse
import os

import numpy as np

MAGIC, VERSION, HEADER_WORDS = 20240520, 1, 256


def write_shard(path, tokens):
    header = np.zeros(HEADER_WORDS, dtype="<i4")
    header[:3] = (MAGIC, VERSION, len(tokens))
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(tokens.astype("<u2").tobytes())


def make_tokens(rng, n, kind, vocab, block):
    if kind == "uniform":
        return rng.integers(0, vocab, size=n, dtype=np.uint16)
    return np.resize(block, n)  # the same block in train and val, so val loss falls too


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--train-tokens", type=int, default=1_000_000, help="tokens per train shard")
    p.add_argument("--train-shards", type=int, default=1)
    p.add_argument("--val-tokens", type=int, default=65_537, help="tokens in the val shard")
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--kind", choices=["uniform", "repeat"], default="uniform")
    p.add_argument("--period", type=int, default=97, help="block length for --kind repeat")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.vocab > 65536:
        p.error("--vocab must fit uint16 (<= 65536)")
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    block = rng.integers(0, a.vocab, size=a.period, dtype=np.uint16)
    for i in range(a.train_shards):
        path = os.path.join(a.out, f"train_{i:06d}.bin")
        write_shard(path, make_tokens(rng, a.train_tokens, a.kind, a.vocab, block))
        print(f"wrote {path} ({a.train_tokens} tokens)")
    path = os.path.join(a.out, "val_000000.bin")
    write_shard(path, make_tokens(rng, a.val_tokens, a.kind, a.vocab, block))
    print(f"wrote {path} ({a.val_tokens} tokens)")


if __name__ == "__main__":
    main()
