/**
 * A blob being written to the S3 tier. The bytes go to a local spool file
 * (so followers can read them positionally while they grow) and are hashed
 * as they come. Past `partSize` they also stream to S3 as parts of a
 * multipart upload to a temporary key, a part at a time (never the whole
 * blob in memory). `commit(digest)` first checks the SHA-256 of what was
 * written; only then does the blob become visible under
 * `blobs/sha256/<hex>`: a small blob by one PUT, a large one by completing
 * the upload and copying it into place. A wrong digest or an abort leaves
 * nothing under `blobs/`.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash, type Hash } from 'node:crypto';
import { rm, type FileHandle } from 'node:fs/promises';
import { LarderError } from '../core/errors.js';
import { byteLength, type TempBlob } from '../core/ports.js';
import { s3Failure } from './s3-client.js';
import { copyObject, type CopyLimits } from './s3-copy.js';

export interface S3TempContext {
  client: S3Client;
  bucket: string;
  /** Object key of a committed digest (checks the digest's form). */
  keyOf(digest: string): string;
  /** A fresh temporary object key (outside `blobs/`). */
  tempKey(): string;
  partSize: number;
  copyLimits?: CopyLimits;
}

export class S3TempBlob implements TempBlob {
  written = 0;
  private readonly hash: Hash = createHash('sha256');
  private uploaded = 0;
  private upload: { key: string; id: string; parts: { ETag: string; PartNumber: number }[] } | undefined;
  private done = false;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly ctx: S3TempContext,
  ) {}

  async write(data: Buffer | readonly Buffer[]): Promise<void> {
    const bufs: readonly Buffer[] = Buffer.isBuffer(data) ? [data] : data;
    const total = byteLength(bufs);
    let at = this.written;
    for (const b of bufs) {
      let off = 0;
      while (off < b.length) off += (await this.handle.write(b, off, b.length - off, at + off)).bytesWritten;
      at += b.length;
      this.hash.update(b);
    }
    this.written += total;
    while (this.written - this.uploaded >= this.ctx.partSize) await this.sendPart(this.ctx.partSize);
  }

  async read(into: Buffer, position: number, length: number): Promise<number> {
    return (await this.handle.read(into, 0, length, position)).bytesRead;
  }

  /** Reads [uploaded, uploaded + n) back from the spool file. */
  private async spooled(n: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = await this.handle.read(buf, got, n - got, this.uploaded + got);
      if (r.bytesRead === 0) throw new LarderError('E_STORAGE', `spool file ${this.path} is short`);
      got += r.bytesRead;
    }
    return buf;
  }

  private async sendPart(n: number): Promise<void> {
    const { client, bucket } = this.ctx;
    try {
      if (!this.upload) {
        const key = this.ctx.tempKey();
        const r = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
        if (!r.UploadId) throw new Error('no UploadId in the answer');
        this.upload = { key, id: r.UploadId, parts: [] };
      }
      const PartNumber = this.upload.parts.length + 1;
      const body = await this.spooled(n);
      const r = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key: this.upload.key, UploadId: this.upload.id, PartNumber, Body: body, ContentLength: n }),
      );
      this.upload.parts.push({ ETag: r.ETag ?? '', PartNumber });
      this.uploaded += n;
    } catch (err) {
      throw s3Failure('upload part', err);
    }
  }

  async commit(digest: string): Promise<void> {
    const { client, bucket } = this.ctx;
    const key = this.ctx.keyOf(digest);
    if (this.done) throw new LarderError('E_INTERNAL', `temp ${this.path} was already committed or aborted`);
    const actual = `sha256:${this.hash.copy().digest('hex')}`;
    if (actual !== digest) {
      await this.abort();
      throw new LarderError('E_INTEGRITY', `refusing to store ${digest}: the bytes written hash to ${actual}`);
    }
    if (!this.upload) {
      const body = await this.spooled(this.written - this.uploaded);
      await client
        .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }))
        .catch((err: unknown) => Promise.reject(s3Failure(`PUT ${key}`, err)));
      this.done = true;
      return;
    }
    if (this.written > this.uploaded) await this.sendPart(this.written - this.uploaded);
    const up = this.upload;
    try {
      await client.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: up.key, UploadId: up.id, MultipartUpload: { Parts: up.parts } }),
      );
      this.upload = undefined;
      // A server-side copy of a complete, verified object: readers of `key` see all of it or nothing.
      await copyObject(client, bucket, up.key, key, this.written, this.ctx.copyLimits);
    } catch (err) {
      await this.abort();
      throw s3Failure(`commit ${key}`, err);
    } finally {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: up.key })).catch(() => undefined);
    }
    this.done = true;
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    const up = this.upload;
    this.upload = undefined;
    if (up) {
      const { client, bucket } = this.ctx;
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: up.key, UploadId: up.id })).catch(() => undefined);
    }
    await rm(this.path, { force: true });
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
    if (this.done) await rm(this.path, { force: true });
  }
}
