/**
 * The shared index of cluster mode (issue 18): one small JSON object per
 * entry, `entries/<sha256 of the key>.json`, in the bucket that holds the
 * blobs. It is written after the entry's blobs are committed to the bucket,
 * so an entry found here always has its bodies there. A PUT is atomic in
 * S3: a reader sees the previous version or the new one, never a mix.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Entry } from '../core/types.js';
import { isS3Missing, s3Failure } from './s3-client.js';

const PREFIX = 'entries/';
/** Bumped if the stored form ever changes; other versions are ignored (read as absent). */
const VERSION = 1;

interface Stored {
  v: number;
  entry: Entry;
}

export class S3EntryStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  /** The object key of an entry key (hashed: entry keys are long and hold any character). */
  keyOf(key: string): string {
    return `${PREFIX}${createHash('sha256').update(key).digest('hex')}.json`;
  }

  async put(entry: Entry): Promise<void> {
    const Key = this.keyOf(entry.key);
    const Body = JSON.stringify({ v: VERSION, entry } satisfies Stored);
    await this.client
      .send(new PutObjectCommand({ Bucket: this.bucket, Key, Body, ContentType: 'application/json' }))
      .catch((err: unknown) => Promise.reject(s3Failure(`PUT ${Key}`, err)));
  }

  /** The stored entry of `key`, or undefined when there is none (or it is not of this version or key). */
  async get(key: string): Promise<Entry | undefined> {
    const Key = this.keyOf(key);
    let text: string;
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      text = (await r.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (isS3Missing(err)) return undefined;
      throw s3Failure(`GET ${Key}`, err);
    }
    const stored = JSON.parse(text) as Partial<Stored>;
    if (stored.v !== VERSION || stored.entry?.key !== key || typeof stored.entry.digest !== 'string') return undefined;
    return stored.entry;
  }
}
