import { isAbsolute, resolve } from 'node:path';

/** Where an artifact store lives: a directory (local or a shared file system) or an S3 bucket and prefix. */
export type StoreLocation = { kind: 'file'; root: string } | { kind: 's3'; bucket: string; prefix: string };

const S3_BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Reads a store setting: `s3://bucket/prefix`, `file://<path>` or a plain path. Credentials never go
 * in it (the setting is recorded in workflow histories): they come from the standard AWS variables.
 */
export function parseStoreLocation(location: string): StoreLocation {
  if (location.startsWith('file://')) return { kind: 'file', root: location.slice('file://'.length) };
  if (location.startsWith('s3://')) {
    const rest = location.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (bucket.includes('@') || bucket.includes(':')) {
      throw new Error(
        `store ${redact(location)}: credentials do not belong in the store URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the workers' environment`,
      );
    }
    if (!S3_BUCKET_RE.test(bucket))
      throw new Error(
        `store ${location}: '${bucket}' is not a valid S3 bucket name (3-63 lower-case letters, digits, '.' and '-')`,
      );
    const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
    if (prefix.split('/').some((p) => p === '..' || p === '.'))
      throw new Error(`store ${location}: the prefix may not contain '.' or '..' segments`);
    return { kind: 's3', bucket, prefix };
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location)) {
    throw new Error(
      `store ${redact(location)}: unsupported scheme; use a path, file://<path> or s3://<bucket>/<prefix>`,
    );
  }
  return { kind: 'file', root: location };
}

/** The canonical form kept in a run's config: an absolute path for a file store (relative ones are under `home`), the URL for S3. */
export function resolveStoreSetting(value: string, home: string): string {
  const loc = parseStoreLocation(value);
  if (loc.kind === 's3') return storeUrl(loc);
  if (loc.root === '') throw new Error(`store ${value}: no path after file://`);
  return isAbsolute(loc.root) ? loc.root : resolve(home, loc.root);
}

export const storeUrl = (loc: StoreLocation) =>
  loc.kind === 'file' ? loc.root : `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`;

/** Drops a `user:password@` part from a URL before it is shown anywhere. */
const redact = (url: string) => url.replace(/\/\/[^/@]*@/, '//***@');
