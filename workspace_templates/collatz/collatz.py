"""Find the starting number below LIMIT whose Collatz chain is the longest.

The chain of n: n -> n/2 if n is even, else 3n+1, until 1. Its length counts the numbers in it.
"""
import time

LIMIT = 100_000


def chain_length(n):
    steps = 1
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def main():
    t0 = time.perf_counter()
    best, best_len = 1, 1
    for start in range(1, LIMIT):
        length = chain_length(start)
        if length > best_len:
            best, best_len = start, length
    print(f"answer: {best}")
    print(f"chain_length: {best_len}")
    print(f"time_ms: {(time.perf_counter() - t0) * 1000:.1f}")


if __name__ == "__main__":
    main()
