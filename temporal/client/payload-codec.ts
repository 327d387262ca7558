import { gunzipSync, gzipSync } from 'node:zlib';
import type { Client } from '@temporalio/client';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

export const GZIP_ENCODING = 'binary/gzip';

/**
 * Payloads this large or larger are stored gzipped. Below it they stay plain JSON, so what the
 * Temporal UI shows of a run (inputs, results, heartbeats, queries of a small tree) stays readable.
 */
export const COMPRESS_FROM_BYTES = 32 * 1024;

/**
 * Large payloads — above all the tree a long run carries across continue-as-new, about 1 KB per
 * node — are gzipped, so a run of thousands of nodes stays far below the server's 2 MB payload
 * limit. Payloads written without this codec (older histories) decode unchanged.
 */
export const compressLargePayloads: PayloadCodec = {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) =>
      (p.data?.length ?? 0) < COMPRESS_FROM_BYTES
        ? p
        : {
            metadata: { encoding: new TextEncoder().encode(GZIP_ENCODING) },
            data: gzipSync(PayloadMessage.encode(p).finish()),
          },
    );
  },
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const encoding = p.metadata?.encoding && new TextDecoder().decode(p.metadata.encoding);
      if (encoding !== GZIP_ENCODING) return p;
      const inner = PayloadMessage.decode(gunzipSync(p.data!));
      return { metadata: inner.metadata, data: inner.data } as Payload;
    });
  },
};

/** Decodes one payload with the client's data converter (codecs first, as the SDK does). */
export async function decodePayload(client: Client, payload: Payload): Promise<unknown> {
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  let payloads = [payload];
  for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads);
  return payloadConverter.fromPayload(payloads[0]);
}

/** The data converter of every client and worker of ours (they must agree). */
export const dataConverter: DataConverter = { payloadCodecs: [compressLargePayloads] };
