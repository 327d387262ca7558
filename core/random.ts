// The one seeded PRNG (mulberry32): the search policy keeps its state in workflow state, the bootstrap
// draws a stream. Same numbers on every machine and in every replay.

/** One draw: a uniform number in [0, 1) and the next state. */
export function nextRandom(state: number): [number, number] {
  const s = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, s];
}

/** A stream of draws from `seed`, for code that holds its state in a closure. */
export function randomStream(seed: number): () => number {
  let state = seed >>> 0;
  // nextRandom inlined (same numbers): no tuple per draw, as the bootstrap draws hundreds of millions
  return () => {
    const s = (state + 0x6d2b79f5) | 0;
    state = s;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
