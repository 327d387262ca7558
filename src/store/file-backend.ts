import { mkdir, readFile, rename, stat, writeFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { StoreBackend } from './backend';

/** Objects as files under a directory (local disk or a shared file system), written as temp file + rename. */
export class FileBackend implements StoreBackend {
  readonly remote = false;
  constructor(readonly location: string) {}

  private path(key: string) {
    return join(this.location, ...key.split('/'));
  }

  async read(key: string): Promise<Buffer | undefined> {
    return readFile(this.path(key)).catch((err) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  }

  async write(key: string, data: Uint8Array) {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, data);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async size(key: string): Promise<number | undefined> {
    const s = await stat(this.path(key)).catch((err) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    return s?.isFile() ? s.size : undefined;
  }
}
