import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { StoreBackend } from './backend';

/**
 * Objects in an S3 bucket under a prefix, on AWS or any S3-compatible server (MinIO, Ceph, R2, …).
 * Endpoint, region and credentials come only from the standard AWS variables (AWS_ENDPOINT_URL,
 * AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, or a profile / instance role), never from
 * the run's config, so they stay out of workflow histories. An S3 PUT is all-or-nothing: an upload
 * cut short leaves no object, or the previous one.
 */
export class S3Backend implements StoreBackend {
  readonly remote = true;
  readonly location: string;
  private readonly client: S3Client;

  constructor(
    readonly bucket: string,
    readonly prefix: string,
  ) {
    this.location = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.client = s3Client();
  }

  private objectKey(key: string) {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.explain('read', key, err);
    }
  }

  async write(key: string, data: Uint8Array) {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Body: data,
          ContentLength: data.byteLength,
        }),
      );
    } catch (err) {
      throw this.explain('write', key, err);
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return out.ContentLength;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.explain('check', key, err);
    }
  }

  /** An error that says which store, which object, and what to check. */
  private explain(op: string, key: string, err: unknown): Error {
    const e = err as { name?: string; message?: string };
    let hint = '';
    if (e.name === 'NoSuchBucket')
      hint = ` (bucket '${this.bucket}' does not exist${endpoint() ? ` at ${endpoint()}` : ''})`;
    else if (e.name === 'CredentialsProviderError')
      hint =
        " (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an AWS profile or role, in this worker's environment)";
    else if (e.name === 'AccessDenied' || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch')
      hint = " (check the AWS credentials in this worker's environment)";
    return new Error(
      `artifact store ${this.location}: could not ${op} ${key}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}${hint}`,
    );
  }
}

const endpoint = () => process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;

/** One client per endpoint and region for the process: connections are reused across activities. */
const clients = new Map<string, S3Client>();
function s3Client(): S3Client {
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
  const url = endpoint();
  const key = `${url ?? 'aws'} ${region}`;
  let client = clients.get(key);
  if (!client) {
    // A custom endpoint (MinIO, Ceph, moto, …) is addressed path-style: bucket names are not DNS names there.
    client = new S3Client({ region, ...(url ? { endpoint: url, forcePathStyle: true } : {}), maxAttempts: 5 });
    clients.set(key, client);
  }
  return client;
}

function isNotFound(err: unknown) {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === 'NoSuchKey' ||
    e.name === 'NotFound' ||
    (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket')
  );
}
