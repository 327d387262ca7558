/** Longest line handed on whole; the rest of a longer one is dropped up to its newline. */
export const MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines in time linear in its size: it looks at each byte once and keeps
 * at most `maxLineBytes` of an unfinished line, however long the line grows (100 MB without a
 * newline costs one pass, not a quadratic re-split). Each line is stamped with the arrival time of
 * its last byte; bytes are decoded per line, so a character split across chunks stays whole.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private kept = 0;
  private cut = false;
  private lastByteMs = 0;

  constructor(
    private readonly onLine: (line: string, atMs: number) => void,
    private readonly maxLineBytes = MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer, atMs: number) {
    let from = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, from)) {
      this.keep(chunk.subarray(from, nl));
      this.emit(atMs);
      from = nl + 1;
    }
    if (from < chunk.length) {
      this.keep(chunk.subarray(from));
      this.lastByteMs = atMs;
    }
  }

  /** The stream ended: an unfinished last line still counts, stamped when its last byte came. */
  end() {
    if (this.kept > 0 || this.cut) this.emit(this.lastByteMs);
  }

  private keep(bytes: Buffer) {
    const room = this.maxLineBytes - this.kept;
    if (bytes.length > room) this.cut = true;
    const take = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (take.length === 0) return;
    this.parts.push(Buffer.from(take)); // a copy: holding a slice would hold the whole chunk
    this.kept += take.length;
  }

  private emit(atMs: number) {
    const bytes = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.kept);
    this.parts = [];
    this.kept = 0;
    this.cut = false;
    this.onLine(bytes.toString('utf8'), atMs);
  }
}
