/**
 * The S3 client for the shared blob tier and the few error shapes the store
 * branches on. Path-style addressing and no default request checksums: any
 * S3-compatible endpoint (Ceph RADOS Gateway, MinIO, AWS) accepts that.
 */
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { LarderError } from '../core/errors.js';

export interface S3Settings {
  /** `http(s)://host:port` of the S3 API. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

export function makeS3Client(s: S3Settings): S3Client {
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
    // Older gateways reject the SDK's default trailing checksums (aws-chunked bodies).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

/** The HTTP status of an S3 service error, if it is one. */
export function s3Status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** Whether the error says the object (or upload) does not exist. */
export function isS3Missing(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchUpload' || s3Status(err) === 404;
}

/** The store's way to say a blob is absent: code ENOENT, as the file system does. */
export function missingBlob(digest: string, cause?: unknown): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`no blob ${digest} in S3`, { cause });
  e.code = 'ENOENT';
  return e;
}

/** Any other S3 failure, as a typed storage error. */
export function s3Failure(what: string, err: unknown): LarderError {
  if (err instanceof LarderError) return err;
  return new LarderError('E_STORAGE', `S3 ${what} failed: ${(err as Error).message}`, { cause: err });
}

/** Creates the bucket when it does not exist yet. */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (!isS3Missing(err)) throw s3Failure(`HEAD bucket ${bucket}`, err);
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw s3Failure(`create bucket ${bucket}`, err);
  }
}
