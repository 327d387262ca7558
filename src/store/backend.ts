/**
 * Where an artifact store keeps its objects. Keys are `/`-separated (`blobs/ab/cdef…`, `refs/runs/<id>/view`).
 * Backends move bytes only; hashing, verification and "skip when present" are the store's job.
 */
export interface StoreBackend {
  /** A path or URL, for messages. */
  readonly location: string;
  /** Whether objects cross a network (worth caching locally and remembering what is known present). */
  readonly remote: boolean;
  /** The object's bytes, or undefined when there is none. */
  read(key: string): Promise<Buffer | undefined>;
  /** Writes the object whole: a reader sees the old bytes or the new ones, never a part. */
  write(key: string, data: Uint8Array): Promise<void>;
  /** The object's size in bytes, or undefined when there is none. */
  size(key: string): Promise<number | undefined>;
}
