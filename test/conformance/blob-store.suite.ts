/**
 * The BlobStore contract (daemon/core/ports.ts), one suite for every
 * implementation: `blobStoreSuite(name, make)` registers the cases under
 * `describe(name)`; `make` gives a fresh, empty store and its cleanup.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { BlobStore } from '../../daemon/core/ports.js';
import { isBlobMissing } from '../../daemon/core/storage-guard.js';

export interface MadeStore {
  store: BlobStore;
  close(): Promise<void>;
}

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const body = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251));

async function streamed(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(parts);
}

async function listed(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const d of store.list()) out.push(d);
  return out.sort();
}

const missing = (err: unknown): boolean => {
  assert.ok(isBlobMissing(err), `expected ENOENT, got ${(err as Error).message}`);
  return true;
};

export function blobStoreSuite(name: string, make: () => Promise<MadeStore>): void {
  const withStore = (title: string, fn: (store: BlobStore) => Promise<void>): void => {
    test(title, async () => {
      const m = await make();
      try {
        await fn(m.store);
      } finally {
        await m.close();
      }
    });
  };

  describe(`BlobStore conformance: ${name}`, () => {
    withStore('a temp file is written (one buffer or several), read while it grows, committed, released', async (store) => {
      const a = body(3000);
      const temp = await store.createTemp();
      await temp.write(a.subarray(0, 1000));
      await temp.write([a.subarray(1000, 1500), a.subarray(1500, 3000)]);
      assert.equal(temp.written, 3000, 'written counts bytes, not buffers');
      const into = Buffer.alloc(200);
      assert.equal(await temp.read(into, 1400, 200), 200);
      assert.deepEqual(into, a.subarray(1400, 1600));
      assert.equal(await temp.read(into, 2900, 200), 100, 'a read past the end is short');
      assert.equal(await store.stat(digestOf(a)), undefined, 'not visible before commit');
      await temp.commit(digestOf(a));
      await temp.abort(); // after commit: a no-op
      await temp.release();
      await temp.release(); // more than once: safe
      assert.equal(await store.stat(digestOf(a)), 3000);
      assert.deepEqual(await store.readAll(digestOf(a)), a);
      assert.deepEqual(await listed(store), [digestOf(a)]);
      assert.equal(await store.sweepTemp(), 0, 'a committed temp is not left behind');
    });

    withStore('an aborted temp file leaves nothing, and abort may be repeated', async (store) => {
      const temp = await store.createTemp();
      await temp.write(body(100));
      await temp.abort();
      await temp.abort();
      await temp.release();
      assert.equal(await store.sweepTemp(), 0);
      assert.deepEqual(await listed(store), []);
    });

    withStore('writeAll and readAll round-trip; writing the same digest again keeps one blob', async (store) => {
      const a = body(5000, 7);
      await store.writeAll(digestOf(a), a);
      await store.writeAll(digestOf(a), a);
      assert.deepEqual(await store.readAll(digestOf(a)), a);
      assert.deepEqual(await listed(store), [digestOf(a)]);
      assert.equal(await store.sweepTemp(), 0);
    });

    withStore('ranges: inclusive stream ranges, whole streams, positional reads', async (store) => {
      const a = body(70_000, 3);
      await store.writeAll(digestOf(a), a);
      assert.deepEqual(await streamed(store.createReadStream(digestOf(a))), a);
      assert.deepEqual(await streamed(store.createReadStream(digestOf(a), { start: 10, end: 19 })), a.subarray(10, 20));
      assert.deepEqual(await streamed(store.createReadStream(digestOf(a), { start: 69_999, end: 69_999 })), a.subarray(69_999));
      if (store.openReader) {
        const r = await store.openReader(digestOf(a));
        const into = Buffer.alloc(1000);
        assert.equal(await r.read(into, 65_000, 1000), 1000);
        assert.deepEqual(into, a.subarray(65_000, 66_000));
        assert.equal(await r.read(into, 69_500, 1000), 500);
        assert.equal(await r.read(into, 70_000, 1000), 0);
        await r.close();
      }
    });

    withStore('delete and quarantine take a blob out of service; both are safe on a missing digest', async (store) => {
      const a = body(10, 1);
      const b = body(10, 2);
      await store.writeAll(digestOf(a), a);
      await store.writeAll(digestOf(b), b);
      await store.delete(digestOf(a));
      await store.quarantine(digestOf(b));
      assert.equal(await store.stat(digestOf(a)), undefined);
      assert.equal(await store.stat(digestOf(b)), undefined);
      assert.deepEqual(await listed(store), []);
      await store.delete(digestOf(a));
      await store.quarantine(digestOf(a));
    });

    withStore('list yields every committed digest once', async (store) => {
      const bodies = Array.from({ length: 40 }, (_, i) => body(20 + i, i));
      await Promise.all(bodies.map((b) => store.writeAll(digestOf(b), b)));
      assert.deepEqual(await listed(store), bodies.map(digestOf).sort());
    });

    withStore('sweepTemp removes temp files left behind and says how many', async (store) => {
      const left = [await store.createTemp(), await store.createTemp()];
      for (const t of left) {
        await t.write(body(50));
        await t.release();
      }
      assert.equal(await store.sweepTemp(), 2);
      assert.equal(await store.sweepTemp(), 0);
      assert.deepEqual(await listed(store), []);
    });

    withStore('concurrent commits of the same digest leave one complete blob', async (store) => {
      const a = body(100_000, 9);
      const temps = await Promise.all(Array.from({ length: 4 }, () => store.createTemp()));
      await Promise.all(temps.map((t) => t.write(a)));
      await Promise.all(temps.map((t) => t.commit(digestOf(a))));
      await Promise.all(
        temps.map(async (t) => {
          await t.abort();
          await t.release();
        }),
      );
      assert.deepEqual(await store.readAll(digestOf(a)), a);
      assert.deepEqual(await listed(store), [digestOf(a)]);
      assert.equal(await store.sweepTemp(), 0);
    });

    withStore('a missing blob: stat is undefined, every read fails with ENOENT', async (store) => {
      const d = digestOf(body(10, 42));
      assert.equal(await store.stat(d), undefined);
      await assert.rejects(store.readAll(d), missing);
      if (store.openReader) await assert.rejects(store.openReader(d), missing);
      await assert.rejects(streamed(store.createReadStream(d)), missing);
      await assert.rejects(streamed(store.createReadStream(d, { start: 0, end: 5 })), missing);
    });

    withStore('a digest that is not sha256:<64 hex> is refused and nothing is stored', async (store) => {
      const temp = await store.createTemp();
      await temp.write(body(10));
      await assert.rejects(temp.commit('sha256:../../etc/passwd'), (err: { code?: string }) => err.code === 'E_BAD_REQUEST');
      await temp.abort();
      await temp.release();
      await assert.rejects(store.writeAll('md5:abc', body(1)), (err: { code?: string }) => err.code === 'E_BAD_REQUEST');
      assert.deepEqual(await listed(store), []);
      assert.equal(await store.sweepTemp(), 0);
    });
  });
}
