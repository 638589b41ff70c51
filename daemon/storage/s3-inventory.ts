/**
 * What the cluster's S3-tier eviction reads and removes in the bucket: the
 * committed blobs with their sizes and times (ListObjectsV2 pages, no GET),
 * and the shared index's entry objects (listed with their ETags, so a
 * reader can keep the parsed ones from one pass to the next and fetch only
 * what changed). Layout as in s3-blob-store.ts and s3-entries.ts.
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Entry } from '../core/types.js';
import { isS3Missing, s3Failure } from './s3-client.js';

const BLOBS = 'blobs/sha256/';
const ENTRIES = 'entries/';
const HEX = /^[0-9a-f]{64}$/;

export interface StoredBlob {
  digest: string;
  size: number;
  /** Last write of the object (a commit of the same digest writes it again), epoch ms. */
  modified: number;
}

export interface EntryObject {
  /** The object key, `entries/<sha256 of the entry key>.json`. */
  key: string;
  etag: string;
}

export class S3Inventory {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  private async *objects(prefix: string): AsyncIterable<{ Key?: string; Size?: number; LastModified?: Date; ETag?: string }> {
    let ContinuationToken: string | undefined;
    do {
      const r = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken }))
        .catch((err: unknown) => Promise.reject(s3Failure(`list ${prefix}`, err)));
      yield* r.Contents ?? [];
      ContinuationToken = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async *blobs(): AsyncIterable<StoredBlob> {
    for await (const o of this.objects(BLOBS)) {
      const hex = o.Key?.slice(BLOBS.length) ?? '';
      if (HEX.test(hex)) yield { digest: `sha256:${hex}`, size: o.Size ?? 0, modified: o.LastModified?.getTime() ?? 0 };
    }
  }

  async *entries(): AsyncIterable<EntryObject> {
    for await (const o of this.objects(ENTRIES)) if (o.Key?.endsWith('.json')) yield { key: o.Key, etag: o.ETag ?? '' };
  }

  /** The entry an entry object holds: undefined when it is gone, 'unreadable' when it is not an entry of a known form. */
  async entry(key: string): Promise<Entry | undefined | 'unreadable'> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const stored = JSON.parse((await r.Body?.transformToString('utf8')) ?? '') as { v?: number; entry?: Entry } | null;
      return stored?.v === 1 && typeof stored.entry?.key === 'string' && typeof stored.entry.digest === 'string'
        ? stored.entry
        : 'unreadable';
    } catch (err) {
      if (isS3Missing(err)) return undefined;
      if (err instanceof SyntaxError) return 'unreadable';
      throw s3Failure(`GET ${key}`, err);
    }
  }

  /** When a blob's object was last written, epoch ms (undefined: gone). */
  async modified(digest: string): Promise<number | undefined> {
    const Key = this.blobKey(digest);
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }))).LastModified?.getTime() ?? 0;
    } catch (err) {
      if (isS3Missing(err)) return undefined;
      throw s3Failure(`HEAD ${Key}`, err);
    }
  }

  /** Deletes an object (absent is fine). */
  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch((err: unknown) => {
      if (!isS3Missing(err)) throw s3Failure(`DELETE ${key}`, err);
    });
  }

  /** The object key of a blob. */
  blobKey(digest: string): string {
    return BLOBS + digest.slice('sha256:'.length);
  }
}
