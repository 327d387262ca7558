import type { ArtifactStore } from '../store/artifact-store';
import { MAX_LINE_BYTES } from '../exec/line-splitter';

const NEWLINE = 0x0a;

/**
 * A stored log as bytes, read in bounded pieces: its lines one at a time (each cut at
 * MAX_LINE_BYTES, as the runner cuts them) or its last bytes. Nothing here turns a whole log into
 * one string, so an old or huge log costs its bytes once, never a string past V8's limit.
 */
export class StoredLog {
  constructor(readonly bytes: Buffer) {}

  static async read(store: ArtifactStore, ref: string): Promise<StoredLog> {
    return new StoredLog(await store.getBlob(ref));
  }

  *lines(): Generator<string> {
    let from = 0;
    for (;;) {
      const nl = this.bytes.indexOf(NEWLINE, from);
      const end = nl === -1 ? this.bytes.length : nl;
      yield this.bytes.toString('utf8', from, Math.min(end, from + MAX_LINE_BYTES));
      if (nl === -1) return;
      from = nl + 1;
    }
  }

  /**
   * The log's last `maxBytes` bytes as text, starting at a character boundary, with a note of how
   * many bytes came before when any did. Callers cut it further (e.g. to `max_log_len` characters).
   */
  tail(maxBytes: number): string {
    if (this.bytes.length <= maxBytes) return this.bytes.toString('utf8');
    let start = this.bytes.length - maxBytes;
    while (start < this.bytes.length && (this.bytes[start] & 0xc0) === 0x80) start++; // not inside a character
    return `[… ${start} bytes cut …]\n${this.bytes.toString('utf8', start)}`;
  }
}
