import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { COMPRESS_FROM_BYTES, GZIP_ENCODING, compressLargePayloads } from '../../temporal/client/payload-codec';

const encodingOf = (p: { metadata?: Record<string, Uint8Array> | null }) =>
  new TextDecoder().decode(p.metadata!.encoding);

describe('compressLargePayloads', () => {
  it('leaves small payloads as plain JSON, readable in the UI', async () => {
    const small = defaultPayloadConverter.toPayload({ phase: 'executing', iteration: 3 });
    const [encoded] = await compressLargePayloads.encode([small]);
    expect(encoded).toBe(small);
    expect(encodingOf(encoded)).toBe('json/plain');
  });

  it('gzips a carried tree of 2,000 nodes to a fraction of its size and restores it exactly', async () => {
    const nodes = Array.from({ length: 2000 }, (_, id) => ({
      id,
      parent: id === 0 ? null : id - 1,
      stage: 'improve',
      status: 'ok',
      valid: true,
      plan: `Idea ${id}: fuse the optimizer step and try a longer warmup`,
      metrics: { val_loss: 3.27, train_time_ms: 180000 - id },
      summary: 'The run finished, reached the target loss and was faster than its parent.',
      snapshot: id.toString(16).padStart(64, '0'),
    }));
    const plain = defaultPayloadConverter.toPayload({ carried: { nodes } });
    expect(plain.data!.length).toBeGreaterThan(COMPRESS_FROM_BYTES);
    const [encoded] = await compressLargePayloads.encode([plain]);
    expect(encodingOf(encoded)).toBe(GZIP_ENCODING);
    expect(encoded.data!.length).toBeLessThan(plain.data!.length / 5);
    const [decoded] = await compressLargePayloads.decode([encoded]);
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual({ carried: { nodes } });
  });

  it('decodes payloads written before it (plain JSON) unchanged', async () => {
    const old = defaultPayloadConverter.toPayload({ config: { seed: 1 } });
    const [decoded] = await compressLargePayloads.decode([old]);
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual({ config: { seed: 1 } });
  });
});
