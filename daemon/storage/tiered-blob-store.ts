/**
 * Two tiers of blobs: this node's disk (FsBlobStore) in front of the
 * shared S3 tier. A commit goes to S3 first (where it is verified and made
 * visible to every node) and then to the local disk. A read served by the
 * disk when it can; otherwise the blob is fetched from S3 once (concurrent
 * readers share the fetch), its SHA-256 checked, committed to the disk, and
 * served from there.
 *
 * `delete`, `quarantine`, `list` and `modifiedAt` concern the local tier
 * only: they are what eviction, scrub and the orphan scan of one node use,
 * and one node must never delete from the shared bucket what others rely
 * on. (Deciding S3 eviction once for the cluster is a later part of issue 18.)
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LarderError } from '../core/errors.js';
import type { BlobReader, BlobStore, TempBlob } from '../core/ports.js';
import type { FsBlobStore } from './fs-blob-store.js';
import type { S3BlobStore } from './s3-blob-store.js';
import { s3Failure } from './s3-client.js';

/**
 * A temp blob written to both tiers at once; reads come from the local one.
 * When S3 fails a write (unreachable), the bytes still go to the local temp,
 * so the client being served from it gets them all; only the commit then
 * fails (nothing is stored: a blob is on this disk only if it is in S3).
 */
class TieredTemp implements TempBlob {
  private remoteError: unknown;

  constructor(
    private readonly local: TempBlob,
    private readonly remote: TempBlob,
  ) {}

  get path(): string {
    return this.local.path;
  }

  get written(): number {
    return this.local.written;
  }

  async write(data: Buffer | readonly Buffer[]): Promise<void> {
    const remote =
      this.remoteError === undefined
        ? this.remote.write(data).catch((err: unknown) => {
            this.remoteError = err;
          })
        : undefined;
    await Promise.all([this.local.write(data), remote]);
  }

  read(into: Buffer, position: number, length: number): Promise<number> {
    return this.local.read(into, position, length);
  }

  async commit(digest: string): Promise<void> {
    if (this.remoteError !== undefined) throw s3Failure(`upload of ${digest}`, this.remoteError);
    await this.remote.commit(digest); // verifies, and fails before anything is visible
    await this.local.commit(digest);
  }

  async abort(): Promise<void> {
    await Promise.all([this.local.abort(), this.remote.abort()]);
  }

  async release(): Promise<void> {
    await Promise.all([this.local.release(), this.remote.release()]);
  }
}

export class TieredBlobStore implements BlobStore {
  private readonly filling = new Map<string, Promise<void>>();

  constructor(
    readonly local: FsBlobStore,
    readonly remote: S3BlobStore,
  ) {}

  async stat(digest: string): Promise<number | undefined> {
    return (await this.local.stat(digest)) ?? (await this.remote.stat(digest));
  }

  /** Makes sure the local tier holds the blob (fetching it from S3 once); ENOENT when neither has it. */
  ensureLocal(digest: string): Promise<void> {
    const running = this.filling.get(digest);
    if (running) return running;
    const p = this.fill(digest).finally(() => this.filling.delete(digest));
    this.filling.set(digest, p);
    return p;
  }

  private async fill(digest: string): Promise<void> {
    this.remote.keyOf(digest);
    if ((await this.local.stat(digest)) !== undefined) return;
    const temp = await this.local.createTemp();
    try {
      const hash = createHash('sha256');
      await pipeline(this.remote.createReadStream(digest), async (src: AsyncIterable<Buffer>) => {
        for await (const chunk of src) {
          hash.update(chunk);
          await temp.write(chunk);
        }
      });
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== digest) throw new LarderError('E_INTEGRITY', `S3 object for ${digest} hashes to ${actual}; not served`);
      await temp.commit(digest);
    } finally {
      await temp.abort();
      await temp.release();
    }
  }

  createReadStream(digest: string, range?: { start: number; end: number }): Readable {
    const out = new PassThrough({ highWaterMark: 64 * 1024 });
    this.ensureLocal(digest).then(
      () => pipeline(this.local.createReadStream(digest, range), out).catch((err: unknown) => out.destroy(err as Error)),
      (err: unknown) => out.destroy(err as Error),
    );
    return out;
  }

  async openReader(digest: string): Promise<BlobReader> {
    await this.ensureLocal(digest);
    return this.local.openReader(digest);
  }

  async readAll(digest: string): Promise<Buffer> {
    await this.ensureLocal(digest);
    return this.local.readAll(digest);
  }

  async writeAll(digest: string, body: Buffer): Promise<void> {
    await this.remote.writeAll(digest, body);
    await this.local.writeAll(digest, body);
  }

  async createTemp(): Promise<TempBlob> {
    const local = await this.local.createTemp();
    const remote = await this.remote.createTemp().catch(async (err: unknown) => {
      await local.abort();
      await local.release();
      throw err;
    });
    return new TieredTemp(local, remote);
  }

  delete(digest: string): Promise<void> {
    return this.local.delete(digest);
  }

  quarantine(digest: string): Promise<void> {
    return this.local.quarantine(digest);
  }

  async sweepTemp(): Promise<number> {
    return (await this.local.sweepTemp()) + (await this.remote.sweepTemp());
  }

  list(): AsyncIterable<string> {
    return this.local.list();
  }

  freeBytes(): Promise<number> {
    return this.local.freeBytes();
  }

  modifiedAt(digest: string): Promise<number | undefined> {
    return this.local.modifiedAt(digest);
  }
}
