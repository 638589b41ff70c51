/**
 * Content-addressed blobs in an S3 bucket (any S3-compatible endpoint,
 * path-style): `blobs/sha256/<hex>`, visible only once verified (see
 * s3-temp-blob.ts). Temporary objects live under `tmp/<store id>/`, outside
 * `blobs/`, and spool files in a local directory. Reading a digest that is
 * not stored fails with code ENOENT, as FsBlobStore does.
 */
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LarderError } from '../core/errors.js';
import type { BlobStore, TempBlob } from '../core/ports.js';
import { ensureBucket, isS3Missing, makeS3Client, missingBlob, s3Failure, type S3Settings } from './s3-client.js';
import type { CopyLimits } from './s3-copy.js';
import { S3TempBlob } from './s3-temp-blob.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const PREFIX = 'blobs/sha256/';

export interface S3BlobStoreOptions {
  /** Local directory for spool files of blobs being written. */
  spoolDir: string;
  /** Multipart part size in bytes (S3's minimum is 5 MiB). */
  partSize?: number;
  /** Server-side copy limits (tests lower them to cover the multipart copy). */
  copyLimits?: CopyLimits;
  client?: S3Client;
  /**
   * Names this store's temporaries (`tmp/<id>/`): the daemon id, so that the
   * sweep at start aborts what this node's previous run left (default: random).
   */
  id?: string;
}

export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly id: string;
  private readonly partSize: number;

  constructor(
    settings: S3Settings,
    private readonly opts: S3BlobStoreOptions,
  ) {
    this.client = opts.client ?? makeS3Client(settings);
    this.bucket = settings.bucket;
    this.partSize = opts.partSize ?? 8 * 1024 * 1024;
    this.id = opts.id ?? randomBytes(6).toString('hex');
  }

  async init(): Promise<void> {
    await mkdir(this.opts.spoolDir, { recursive: true });
    await ensureBucket(this.client, this.bucket);
  }

  keyOf(digest: string): string {
    if (!DIGEST.test(digest)) throw new LarderError('E_BAD_REQUEST', `not a storable digest: ${JSON.stringify(digest.slice(0, 80))}`);
    return PREFIX + digest.slice(7);
  }

  private get tempPrefix(): string {
    return `tmp/${this.id}/`;
  }

  async stat(digest: string): Promise<number | undefined> {
    const Key = this.keyOf(digest);
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }))).ContentLength;
    } catch (err) {
      if (isS3Missing(err)) return undefined;
      throw s3Failure(`HEAD ${Key}`, err);
    }
  }

  /** The object's body as a Node stream (a missing object rejects with ENOENT). */
  private async get(digest: string, range?: { start: number; end: number }): Promise<Readable> {
    const Key = this.keyOf(digest);
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      if (!(r.Body instanceof Readable)) throw new Error('the body is not a Node stream');
      return r.Body;
    } catch (err) {
      if (isS3Missing(err)) throw missingBlob(digest, err);
      throw s3Failure(`GET ${Key}`, err);
    }
  }

  createReadStream(digest: string, range?: { start: number; end: number }): Readable {
    this.keyOf(digest);
    const out = new PassThrough({ highWaterMark: 64 * 1024 });
    this.get(digest, range).then(
      (body) => pipeline(body, out).catch((err: unknown) => out.destroy(err as Error)),
      (err: unknown) => out.destroy(err as Error),
    );
    return out;
  }

  async readAll(digest: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of await this.get(digest)) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  async writeAll(digest: string, body: Buffer): Promise<void> {
    this.keyOf(digest);
    const temp = await this.createTemp();
    try {
      await temp.write(body);
      await temp.commit(digest);
    } finally {
      await temp.abort();
      await temp.release();
    }
  }

  async createTemp(): Promise<TempBlob> {
    const path = join(this.opts.spoolDir, `s3-${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`);
    const handle = await open(path, 'wx+', 0o600);
    return new S3TempBlob(path, handle, {
      client: this.client,
      bucket: this.bucket,
      keyOf: (d) => this.keyOf(d),
      tempKey: () => `${this.tempPrefix}${randomBytes(12).toString('hex')}`,
      partSize: this.partSize,
      copyLimits: this.opts.copyLimits,
    });
  }

  async delete(digest: string): Promise<void> {
    const Key = this.keyOf(digest);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })).catch((err: unknown) => {
      if (!isS3Missing(err)) throw s3Failure(`DELETE ${Key}`, err);
    });
  }

  async quarantine(digest: string): Promise<void> {
    const Key = this.keyOf(digest);
    const to = `quarantine/${digest.slice(7)}-${Date.now()}`;
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: `${this.bucket}/${Key}` }));
    } catch (err) {
      if (isS3Missing(err)) return;
      throw s3Failure(`quarantine ${Key}`, err);
    }
    await this.delete(digest);
  }

  /**
   * Removes this store's leftover spool files (the count) and aborts its
   * unfinished multipart uploads. Other nodes' temporaries are theirs.
   */
  async sweepTemp(): Promise<number> {
    const names = (await readdir(this.opts.spoolDir).catch(() => [] as string[])).filter((n) => n.startsWith('s3-'));
    await Promise.all(names.map((n) => rm(join(this.opts.spoolDir, n), { force: true })));
    const r = await this.client
      .send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.tempPrefix }))
      .catch((err: unknown) => Promise.reject(s3Failure('list uploads', err)));
    for (const u of r.Uploads ?? []) {
      if (!u.Key || !u.UploadId) continue;
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }))
        .catch(() => undefined);
    }
    return names.length;
  }

  /** Every committed digest, a page (1000 keys) at a time. */
  async *list(): AsyncIterable<string> {
    let ContinuationToken: string | undefined;
    do {
      const r = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: PREFIX, ContinuationToken }))
        .catch((err: unknown) => Promise.reject(s3Failure('list blobs', err)));
      for (const o of r.Contents ?? []) {
        const d = `sha256:${o.Key?.slice(PREFIX.length) ?? ''}`;
        if (DIGEST.test(d)) yield d;
      }
      ContinuationToken = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  close(): void {
    this.client.destroy();
  }
}
