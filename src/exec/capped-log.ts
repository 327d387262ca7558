import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';

export const MIB = 1024 * 1024;

/**
 * An execution's log with a size cap: the first half of the cap goes to the file as it comes, the
 * latest half is kept in memory, and at the end the file gets the tail, after a marker line saying
 * how much was cut in between when anything was. So the stored log is at most about `capBytes`,
 * whatever the script writes, and shows both how it started and how it ended. `over` turns true as
 * soon as more than `capBytes` arrived: the caller stops the execution then.
 */
export class CappedLog {
  private readonly file: WriteStream;
  private readonly headBytes: number;
  private readonly tailBytes: number;
  private written = 0;
  private tail: Buffer[] = [];
  private tailKept = 0;
  private failed?: Error;
  total = 0;

  constructor(
    path: string,
    readonly capBytes: number,
  ) {
    this.file = createWriteStream(path);
    this.file.on('error', (err) => (this.failed ??= err)); // e.g. a full disk: reported by close()
    this.headBytes = Math.ceil(capBytes / 2);
    this.tailBytes = capBytes - this.headBytes;
  }

  get over() {
    return this.total > this.capBytes;
  }

  /** Harness lines (e.g. the sandbox note) at the top; they do not count against the cap. */
  note(line: string) {
    this.file.write(`${line}\n`);
  }

  write(chunk: Buffer) {
    this.total += chunk.length;
    if (this.written < this.headBytes) {
      const take = Math.min(chunk.length, this.headBytes - this.written);
      this.file.write(chunk.subarray(0, take));
      this.written += take;
      chunk = chunk.subarray(take);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailKept += chunk.length;
    while (this.tail.length > 1 && this.tailKept - this.tail[0].length >= this.tailBytes)
      this.tailKept -= this.tail.shift()!.length;
  }

  /** Writes the tail (with the marker when bytes were cut) and closes the file. */
  async close(): Promise<void> {
    const tail = Buffer.concat(this.tail, this.tailKept);
    const keep = tail.subarray(Math.max(0, tail.length - this.tailBytes));
    const cut = this.total - this.written - keep.length;
    if (cut > 0)
      this.file.write(
        `\n[speedrunner: output limit (${formatMib(this.capBytes)} MiB): ${cut} bytes cut here; the first ${this.written} and the last ${keep.length} bytes are kept]\n`,
      );
    this.file.write(keep);
    this.tail = [];
    this.file.end();
    await finished(this.file).catch((err: Error) => (this.failed ??= err));
    if (this.failed) throw this.failed;
  }
}

export const formatMib = (bytes: number) => String(Math.round((bytes / MIB) * 100) / 100);
