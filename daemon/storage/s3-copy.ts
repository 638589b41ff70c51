/**
 * A server-side copy of one object to another key. S3 copies at most 5 GiB
 * in one CopyObject; a larger object is copied as a multipart upload of
 * UploadPartCopy ranges, completed only when every range is copied (so the
 * destination appears whole or not at all).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface CopyLimits {
  /** Largest object copied by one CopyObject (S3: 5 GiB). */
  single: number;
  /** Bytes per UploadPartCopy range above that (at least 5 MiB). */
  part: number;
}

export const S3_COPY_LIMITS: CopyLimits = { single: 5 * 1024 ** 3, part: 1024 ** 3 };

export async function copyObject(
  client: S3Client,
  bucket: string,
  from: string,
  to: string,
  size: number,
  limits: CopyLimits = S3_COPY_LIMITS,
): Promise<void> {
  const CopySource = `${bucket}/${from}`;
  if (size <= limits.single) {
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource }));
    return;
  }
  const r = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: to }));
  const UploadId = r.UploadId;
  if (!UploadId) throw new Error('no UploadId in the answer');
  try {
    const Parts: { ETag: string; PartNumber: number }[] = [];
    for (let start = 0; start < size; start += limits.part) {
      const end = Math.min(size, start + limits.part) - 1;
      const PartNumber = Parts.length + 1;
      const p = await client.send(
        new UploadPartCopyCommand({ Bucket: bucket, Key: to, UploadId, PartNumber, CopySource, CopySourceRange: `bytes=${start}-${end}` }),
      );
      Parts.push({ ETag: p.CopyPartResult?.ETag ?? '', PartNumber });
    }
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: to, UploadId, MultipartUpload: { Parts } }));
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: to, UploadId })).catch(() => undefined);
    throw err;
  }
}
