/**
 * Disk-full handling of the cache core with the real fs store and LMDB
 * index, behind a store that can be told to fail temp writes with ENOSPC
 * and to report little free space.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { BlobCache } from '../../daemon/core/blob-cache.js';
import { AccessTracker, type CoreDeps } from '../../daemon/core/deps.js';
import { DocumentCache } from '../../daemon/core/document-cache.js';
import { LarderError } from '../../daemon/core/errors.js';
import { HeldBodies } from '../../daemon/core/held-bodies.js';
import { byteLength, type BlobStore, type TempBlob } from '../../daemon/core/ports.js';
import { StorageGuard } from '../../daemon/core/storage-guard.js';
import type { ExpectedDigest } from '../../daemon/core/types.js';
import { FsBlobStore } from '../../daemon/storage/fs-blob-store.js';
import { LruHotCache } from '../../daemon/storage/hot-cache.js';
import { LmdbIndex } from '../../daemon/storage/lmdb-index.js';
import { DataPaths } from '../../daemon/storage/paths.js';
import { collect, slowResponse } from '../helpers/core.js';
import { tempDir } from '../helpers/daemon.js';

const sha512 = (b: Buffer): ExpectedDigest => ({ algo: 'sha512', hex: createHash('sha512').update(b).digest('hex') });
const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** The fs store, with switches: temp writes fail after `failAfter` bytes; `free` is what freeBytes reports. */
class FullableStore implements BlobStore {
  failAfter = Infinity;
  free = 1e12;
  constructor(private readonly fs: FsBlobStore) {}
  stat = (d: string) => this.fs.stat(d);
  createReadStream = (d: string, r?: { start: number; end: number }) => this.fs.createReadStream(d, r);
  readAll = (d: string) => this.fs.readAll(d);
  async writeAll(d: string, body: Buffer): Promise<void> {
    if (body.length > this.failAfter) throw enospc();
    return this.fs.writeAll(d, body);
  }
  async createTemp(): Promise<TempBlob> {
    const t = await this.fs.createTemp();
    const store = this;
    return {
      path: t.path,
      get written() {
        return t.written;
      },
      async write(data) {
        const bytes = byteLength(data);
        if (t.written + bytes > store.failAfter) throw enospc();
        await t.write(data);
      },
      read: (b, p, l) => t.read(b, p, l),
      commit: (d) => t.commit(d),
      abort: () => t.abort(),
      release: () => t.release(),
    };
  }
  delete = (d: string) => this.fs.delete(d);
  quarantine = (d: string) => this.fs.quarantine(d);
  sweepTemp = () => this.fs.sweepTemp();
  list = () => this.fs.list();
  freeBytes = async () => this.free;
}

async function harness(opts: { beforeWrite?: () => Promise<void> } = {}) {
  const dir = await tempDir('larder-full-');
  const paths = new DataPaths(dir);
  const fs = new FsBlobStore(paths);
  await fs.init();
  const store = new FullableStore(fs);
  const index = new LmdbIndex(paths.indexDir, opts.beforeWrite ? { beforeWrite: opts.beforeWrite } : {});
  let now = 1_000_000;
  const full: string[] = [];
  const deps: CoreDeps = {
    blobs: store,
    index,
    hot: new LruHotCache(1 << 20),
    clock: { now: () => now },
    events: { storageFull: (k) => full.push(k) },
    hotMaxBody: 1024,
  };
  deps.guard = new StorageGuard(deps, { minFree: 1_000_000, holdMs: 30_000 });
  const access = new AccessTracker(deps);
  return {
    dir,
    paths,
    store,
    index,
    full,
    blobs: new BlobCache(deps, access),
    documents: new DocumentCache(deps, access),
    advance: (ms: number) => {
      now += ms;
    },
    files: async () => {
      const out: string[] = [];
      for (const p of await readdir(paths.blobsDir).catch(() => [] as string[])) out.push(...(await readdir(`${paths.blobsDir}/${p}`)));
      return out;
    },
    close: async () => {
      await index.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('ENOSPC in the middle of a fill fails the transfer, stores nothing, then misses pass through for the hold time', async () => {
  const h = await harness();
  try {
    const body = randomBytes(600_000);
    let fetches = 0;
    const req = {
      key: 'k',
      expected: [sha512(body)],
      fetch: async () => {
        fetches++;
        return slowResponse(body, { delayMs: 1 });
      },
    };
    h.store.failAfter = 200_000;
    const first = await h.blobs.get(req);
    assert.equal(first.state, 'MISS');
    await assert.rejects(collect(first.open()), (e: unknown) => e instanceof LarderError && e.code === 'E_STORAGE_FULL');
    await first.done();
    assert.equal(h.index.getEntry('k'), undefined);
    assert.deepEqual(await readdir(h.paths.tmpDir), []);
    assert.deepEqual(h.full, ['k']);

    const second = await h.blobs.get(req);
    assert.equal(second.state, 'BYPASS');
    assert.equal(second.size, body.length);
    assert.ok((await collect(second.open())).equals(body));
    await second.done();
    assert.equal(h.index.getEntry('k'), undefined, 'a pass-through is never indexed');
    assert.deepEqual(await h.files(), []);
    assert.equal(fetches, 2);

    h.store.failAfter = Infinity;
    h.advance(31_000);
    const third = await h.blobs.get(req);
    assert.equal(third.state, 'MISS', 'stored again once the hold time is over');
    assert.ok((await collect(third.open())).equals(body));
    await third.done();
    assert.equal(h.index.getEntry('k')?.size, body.length);
  } finally {
    await h.close();
  }
});

test('a miss larger than the free space is streamed through, verified: ranges work and a mismatch never ends cleanly', async () => {
  const h = await harness();
  try {
    const body = randomBytes(400_000);
    h.store.free = 1_200_000; // 200 KB above the reserve
    const req = { key: 'big', expected: [sha512(body)], fetch: async () => slowResponse(body) };
    const whole = await h.blobs.get(req);
    assert.equal(whole.state, 'BYPASS');
    assert.ok((await collect(whole.open())).equals(body));
    const part = await h.blobs.get(req);
    assert.ok((await collect(part.open({ start: 1000, end: 1999 }))).equals(body.subarray(1000, 2000)));
    assert.equal(h.full.length, 2);
    assert.equal(h.index.getEntry('big'), undefined);

    const bad = Buffer.from(body);
    bad[399_000] = bad[399_000]! ^ 1; // inside the last 64 KiB: held back until verified
    const wrong = await h.blobs.get({ ...req, fetch: async () => slowResponse(bad) });
    const got: Buffer[] = [];
    const stream = wrong.open();
    stream.on('data', (c: Buffer) => got.push(c));
    await assert.rejects(
      new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject)),
      (e: unknown) => e instanceof LarderError && e.code === 'E_INTEGRITY',
    );
    assert.ok(Buffer.concat(got).length <= body.length - 64 * 1024, 'the held-back tail never reached the client');

    // A small miss still fits: not everything is bypassed.
    const small = randomBytes(10_000);
    const fits = await h.blobs.get({ key: 'small', expected: [sha512(small)], fetch: async () => slowResponse(small) });
    assert.equal(fits.state, 'MISS');
    await collect(fits.open());
    await fits.done();
    assert.ok(h.index.getEntry('small'));
  } finally {
    await h.close();
  }
});

test('an index that refuses the write (disk full) leaves no unindexed blob behind; the client still got verified bytes', async () => {
  let refuse = false;
  const h = await harness({
    beforeWrite: async () => {
      if (refuse) throw new LarderError('E_STORAGE_FULL', 'the cache disk is full');
    },
  });
  try {
    const body = randomBytes(100_000);
    refuse = true;
    const served = await h.blobs.get({ key: 'x', expected: [sha512(body)], fetch: async () => slowResponse(body) });
    assert.ok((await collect(served.open())).equals(body));
    await served.done();
    assert.equal(h.index.getEntry('x'), undefined);
    assert.deepEqual(await h.files(), []);
    assert.deepEqual(h.full, ['x']);
  } finally {
    await h.close();
  }
});

test('documents that cannot be stored are answered from memory (BYPASS), and a stored document keeps serving', async () => {
  const h = await harness();
  try {
    const doc = (v: number) => Buffer.from(JSON.stringify({ v, pad: 'x'.repeat(5000) }));
    let version = 1;
    const req = {
      key: 'doc',
      ttlMs: 1000,
      deriveTag: 't1',
      fetch: async () => ({ ...slowResponse(doc(version)), headers: { etag: `"v${version}"` } }),
      derive: (raw: Buffer) => ({ variants: { upper: { body: Buffer.from(raw.toString().toUpperCase()), mediaType: 'text/plain' } } }),
    };
    const stored = await h.documents.get(req);
    assert.equal(stored.state, 'MISS');

    h.store.failAfter = 0; // every write now fails with ENOSPC
    version = 2;
    h.advance(2000);
    // The client does not wait for the disk: the write fails after the answer went out.
    const fresh = await h.documents.get(req);
    assert.equal(fresh.state, 'REVALIDATED');
    await h.documents.drain();
    assert.match((await h.documents.variant(fresh.entry.variants!.upper!)).toString(), /"V":2/, 'held in memory after the failed write');
    assert.match((await h.documents.raw(fresh.entry)).toString(), /"v":2/);
    assert.equal(h.index.getEntry('doc')?.validators?.etag, '"v1"', 'the stored entry is untouched');
    assert.deepEqual(h.full, ['doc']);

    // Now the disk is known to be full: the next fetch is not even tried on disk.
    const again = await h.documents.get(req);
    assert.equal(again.state, 'BYPASS');
    assert.match((await h.documents.variant(again.entry.variants!.upper!)).toString(), /"V":2/);

    const other = await h.documents.get({ ...req, key: 'doc2' });
    assert.equal(other.state, 'BYPASS');
    assert.equal(h.index.getEntry('doc2'), undefined);
  } finally {
    await h.close();
  }
});

test('the temp-file guard counts the bytes of a vectored write, not its buffers', async () => {
  const h = await harness();
  try {
    const full: string[] = [];
    const guard = new StorageGuard(
      { blobs: h.store, clock: { now: () => 0 }, events: { storageFull: (k) => full.push(k) } },
      { minFree: 1_000_000 },
    );
    h.store.free = 2_000_000;
    const temp = guard.guardTemp(await h.store.createTemp(), 'k');
    const three = [Buffer.alloc(400_000), Buffer.alloc(400_000), Buffer.alloc(400_000)];
    await assert.rejects(temp.write(three), (err: unknown) => err instanceof LarderError && err.code === 'E_STORAGE_FULL');
    assert.equal(temp.written, 0, 'refused before a byte reached the reserve');
    assert.equal(guard.isFull(), true);
    await temp.abort();
    await temp.release();
  } finally {
    await h.close();
  }
});

test('held bodies are bounded in bytes and time', () => {
  let now = 0;
  const held = new HeldBodies({ now: () => now }, 100, 1000);
  assert.equal(held.hold([['a', Buffer.alloc(60)]]), true);
  assert.equal(held.hold([['b', Buffer.alloc(60)]]), true);
  assert.equal(held.get('a'), undefined, 'the oldest made room');
  assert.equal(held.get('b')?.length, 60);
  assert.equal(held.hold([['c', Buffer.alloc(101)]]), false, 'too large for memory: the caller answers 507');
  now = 1001;
  assert.equal(held.get('b'), undefined);
});
