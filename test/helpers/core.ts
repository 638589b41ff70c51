/** Builds the real storage + cache core in a temp dir, with a scriptable upstream. */
import { PassThrough, Readable } from 'node:stream';
import { rm } from 'node:fs/promises';
import { BlobCache } from '../../daemon/core/blob-cache.js';
import { AccessTracker, type CoreDeps } from '../../daemon/core/deps.js';
import { DocumentCache } from '../../daemon/core/document-cache.js';
import type { TempBlob, UpstreamResponse } from '../../daemon/core/ports.js';
import { FsBlobStore } from '../../daemon/storage/fs-blob-store.js';
import { LruHotCache } from '../../daemon/storage/hot-cache.js';
import { LmdbIndex } from '../../daemon/storage/lmdb-index.js';
import { DataPaths } from '../../daemon/storage/paths.js';
import { tempDir } from './daemon.js';

export interface CoreHarness {
  dir: string;
  paths: DataPaths;
  deps: CoreDeps;
  blobs: BlobCache;
  documents: DocumentCache;
  close(): Promise<void>;
}

/** `extra` adds or replaces core deps (e.g. `peers`). */
export async function makeCore(extra: Partial<CoreDeps> = {}): Promise<CoreHarness> {
  const dir = await tempDir('larder-core-');
  const paths = new DataPaths(dir);
  const store = new FsBlobStore(paths);
  await store.init();
  const index = new LmdbIndex(paths.indexDir);
  const deps: CoreDeps = {
    blobs: store,
    index,
    hot: new LruHotCache(1 << 20),
    clock: { now: () => Date.now() },
    events: {},
    hotMaxBody: 64 * 1024,
    ...extra,
  };
  const access = new AccessTracker(deps);
  return {
    dir,
    paths,
    deps,
    blobs: new BlobCache(deps, access),
    documents: new DocumentCache(deps, access),
    async close() {
      await access.flush();
      await index.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An upstream response whose body is written in chunks with a delay between them. */
export function slowResponse(
  body: Buffer,
  opts: { status?: number; chunk?: number; delayMs?: number; headers?: UpstreamResponse['headers'] } = {},
): UpstreamResponse {
  const stream = new PassThrough();
  const chunk = opts.chunk ?? 32 * 1024;
  void (async () => {
    for (let off = 0; off < body.length; off += chunk) {
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (!stream.write(body.subarray(off, off + chunk))) await new Promise((r) => stream.once('drain', r));
    }
    stream.end();
  })();
  return {
    status: opts.status ?? 200,
    headers: { 'content-length': String(body.length), ...(opts.headers ?? {}) },
    body: stream,
    url: 'http://upstream/x',
  };
}

export function statusResponse(status: number): UpstreamResponse {
  return { status, headers: {}, body: Readable.from([Buffer.from('nope')]), url: 'http://upstream/x' };
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A temp file that keeps nothing, only counts what is written (`onWrite` runs after each write). */
export function countingTemp(onWrite?: () => void): TempBlob {
  const file = { written: 0, abort: async () => undefined, release: async () => undefined };
  const write = async (d: Buffer | readonly Buffer[]): Promise<void> => {
    file.written += Buffer.isBuffer(d) ? d.length : d.reduce((n, b) => n + b.length, 0);
    onWrite?.();
  };
  return Object.assign(file, { write }) as unknown as TempBlob;
}
