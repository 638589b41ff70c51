/**
 * Content-addressed blobs on the local filesystem. Every write goes through
 * the one commit protocol: temp file in <data>/tmp (same filesystem) →
 * fsync → rename into blobs/sha256/<2>/<hex> → fsync of the directory.
 *
 * Reading a digest that is not stored (`createReadStream`, `readAll`,
 * `openReader`) fails with the file system's own error, code `ENOENT`
 * (`isBlobMissing` in core/storage-guard.ts recognises it).
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, opendir, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { byteLength, type BlobReader, type BlobStore, type TempBlob } from '../core/ports.js';
import { FreeSpace } from './disk-space.js';
import type { DataPaths } from './paths.js';

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** `bufs` without their first `n` bytes (after a short vectored write). */
function skipBytes(bufs: readonly Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) n -= b.length;
    else {
      out.push(n > 0 ? b.subarray(n) : b);
      n = 0;
    }
  }
  return out;
}

class FsTempBlob implements TempBlob {
  written = 0;
  private closed = false;
  private committed = false;

  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly store: FsBlobStore,
  ) {}

  async write(data: Buffer | readonly Buffer[]): Promise<void> {
    let bufs: readonly Buffer[] = Buffer.isBuffer(data) ? [data] : data;
    const total = byteLength(bufs);
    let done = 0;
    while (done < total) {
      const { bytesWritten } = await this.handle.writev(bufs, this.written + done);
      done += bytesWritten;
      if (done < total) bufs = skipBytes(bufs, bytesWritten);
    }
    this.written += total;
    this.store.space.consume(total);
  }

  async read(into: Buffer, position: number, length: number): Promise<number> {
    const { bytesRead } = await this.handle.read(into, 0, length, position);
    return bytesRead;
  }

  async commit(digest: string): Promise<void> {
    const { dir, file } = this.store.paths.blob(digest);
    await this.handle.sync();
    await this.store.ensureDir(dir);
    await rename(this.path, file).catch(async (err: NodeJS.ErrnoException) => {
      // The directory went away behind our back (removed by hand): make it again, once.
      if (err.code !== 'ENOENT') throw err;
      await this.store.ensureDir(dir, true);
      await rename(this.path, file);
    });
    this.committed = true;
    await fsyncDir(dir);
  }

  async abort(): Promise<void> {
    if (!this.committed) await rm(this.path, { force: true });
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

export class FsBlobStore implements BlobStore {
  /** Fan-out directories known to exist (a mkdir per commit is a syscall per commit). */
  private readonly dirs = new Set<string>();
  readonly space: FreeSpace;

  constructor(
    readonly paths: DataPaths,
    space?: FreeSpace,
  ) {
    this.space = space ?? new FreeSpace(paths.tmpDir);
  }

  /** Creates a fan-out directory once per process. */
  async ensureDir(dir: string, again = false): Promise<void> {
    if (this.dirs.has(dir) && !again) return;
    await mkdir(dir, { recursive: true });
    this.dirs.add(dir);
  }

  async init(): Promise<void> {
    await mkdir(this.paths.blobsDir, { recursive: true });
    await mkdir(this.paths.tmpDir, { recursive: true });
  }

  async stat(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.paths.blob(digest).file)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  createReadStream(digest: string, range?: { start: number; end: number }): Readable {
    const file = this.paths.blob(digest).file;
    return createReadStream(file, range ? { start: range.start, end: range.end, highWaterMark: 64 * 1024 } : { highWaterMark: 64 * 1024 });
  }

  async openReader(digest: string): Promise<BlobReader> {
    const handle = await open(this.paths.blob(digest).file, 'r');
    return {
      read: async (into, position, length) => (await handle.read(into, 0, length, position)).bytesRead,
      close: () => handle.close(),
    };
  }

  readAll(digest: string): Promise<Buffer> {
    return readFile(this.paths.blob(digest).file);
  }

  async writeAll(digest: string, body: Buffer): Promise<void> {
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
    const path = join(this.paths.tmpDir, `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`);
    const handle = await open(path, 'wx+', 0o644);
    return new FsTempBlob(path, handle, this);
  }

  async delete(digest: string): Promise<void> {
    await rm(this.paths.blob(digest).file, { force: true });
  }

  async quarantine(digest: string): Promise<void> {
    const { file } = this.paths.blob(digest);
    await mkdir(this.paths.quarantineDir, { recursive: true });
    await rename(file, join(this.paths.quarantineDir, `${digest.slice(7)}-${Date.now()}`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async sweepTemp(): Promise<number> {
    const names = await readdir(this.paths.tmpDir).catch(() => [] as string[]);
    await Promise.all(names.map((n) => rm(join(this.paths.tmpDir, n), { force: true, recursive: true })));
    return names.length;
  }

  freeBytes(): Promise<number> {
    return this.space.bytes();
  }

  /** Last write time of a committed blob (ms), or undefined when absent. */
  async modifiedAt(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.paths.blob(digest).file)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Streams the digests (fan-out directories in order, names as the directory gives them: bounded memory). */
  async *list(): AsyncIterable<string> {
    const prefixes = await readdir(this.paths.blobsDir).catch(() => [] as string[]);
    for (const p of prefixes.sort()) {
      if (!/^[0-9a-f]{2}$/.test(p)) continue;
      const dir = await opendir(join(this.paths.blobsDir, p), { bufferSize: 64 }).catch(() => undefined);
      if (!dir) continue; // removed meanwhile
      for await (const ent of dir) {
        const d = this.paths.digestOf(p, ent.name);
        if (d) yield d;
      }
    }
  }
}
