/**
 * The pieces that keep the budget: the index's stored running total, the
 * keeper's one-at-a-time coalesced evictions, and the storage guard asking
 * for room before it gives up on a miss.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { open } from 'lmdb';
import { BudgetKeeper } from '../../daemon/core/budget.js';
import { StorageGuard } from '../../daemon/core/storage-guard.js';
import type { Entry } from '../../daemon/core/types.js';
import { LmdbIndex } from '../../daemon/storage/lmdb-index.js';
import { MemoryBlobStore } from '../../daemon/storage/memory-blob-store.js';
import { tempDir } from '../helpers/daemon.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const entry = (key: string, digest: string, size: number): Entry => ({ key, digest, size, fetchedAt: 1, expiresAt: 2, immutable: true });
const row = (size: number) => ({ size, createdAt: 1, lastAccess: 1 });

test('the index keeps a stored running total of its blob rows', async () => {
  const dir = await tempDir('larder-totals-');
  try {
    let index = new LmdbIndex(dir);
    const grew: number[] = [];
    index.onGrow((u) => grew.push(u.bytes));
    await index.putEntry(entry('a', d('a'), 100), [[d('a'), row(100)]]);
    await index.putEntry(entry('b', d('a'), 100), [[d('a'), row(100)]]); // the same blob again
    await index.putEntry(entry('c', d('c'), 50), [
      [d('c'), row(50)],
      [d('c'), row(50)],
    ]); // listed twice
    assert.deepEqual(index.usage(), { bytes: 150, blobs: 2 });
    assert.deepEqual(grew, [100, 150], 'told after each commit that added bytes');
    await index.deleteBlob(d('a'));
    await index.deleteBlob(d('a'));
    assert.deepEqual(index.usage(), { bytes: 50, blobs: 1 });
    await index.close();
    index = new LmdbIndex(dir);
    assert.deepEqual(index.usage(), { bytes: 50, blobs: 1 }, 'kept across a restart');
    assert.deepEqual(index.counts(), { entries: 3, blobs: 1 });
    await index.close();

    // A data directory from before the total existed is summed once when opened.
    const raw = open({ path: dir });
    await raw.openDB({ name: 'totals' }).remove('blobs');
    await raw.close();
    index = new LmdbIndex(dir);
    assert.deepEqual(index.usage(), { bytes: 50, blobs: 1 });
    await index.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the keeper runs one eviction at a time and coalesces the triggers that arrive meanwhile', async () => {
  let bytes = 1000;
  let active = 0;
  let maxActive = 0;
  const calls: string[] = [];
  let release: () => void = () => undefined;
  const slow = async (what: string, freed: number): Promise<{ removed: number; bytes: number }> => {
    calls.push(what);
    maxActive = Math.max(maxActive, ++active);
    await new Promise<void>((r) => (release = r));
    active--;
    bytes -= freed;
    return { removed: 1, bytes: freed };
  };
  const keeper = new BudgetKeeper({
    budget: { maxBytes: 1000, high: 0.85, low: 0.5 },
    usage: () => ({ bytes, blobs: 1 }),
    maintenance: { enforce: () => slow('enforce', 100), reclaim: (need) => slow(`reclaim ${need}`, need) },
  });
  keeper.grew({ bytes: 800, blobs: 1 });
  assert.deepEqual(calls, [], 'under the high watermark: nothing');
  keeper.grew({ bytes, blobs: 1 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['enforce']);
  keeper.grew({ bytes, blobs: 1 }); // commits while it runs
  keeper.grew({ bytes, blobs: 1 });
  const reclaimed = keeper.reclaim(30);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['enforce'], 'one at a time');
  release(); // 1000 → 900: still over, and commits came meanwhile: one more run
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['enforce', 'enforce']);
  release(); // 900 → 800: done; the reclaim waited its turn
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['enforce', 'enforce', 'reclaim 30']);
  release();
  assert.equal(await reclaimed, 30);
  assert.equal(maxActive, 1);
  await keeper.stop();
  keeper.grew({ bytes: 10_000, blobs: 1 });
  assert.equal(await keeper.reclaim(10), 0, 'nothing after stop');
  assert.equal(calls.length, 3);
});

test('the storage guard asks for room before it refuses a miss, and refuses when none can be made', async () => {
  const blobs = new MemoryBlobStore({ capacity: 1000 });
  await blobs.writeAll(d('a'), Buffer.alloc(500));
  await blobs.writeAll(d('b'), Buffer.alloc(300));
  const asked: number[] = [];
  let evictable = [d('a')];
  const guard = new StorageGuard(
    { blobs, clock: { now: () => Date.now() }, events: {} },
    {
      minFree: 100,
      reclaim: async (need) => {
        asked.push(need);
        let freed = 0;
        for (const x of evictable) {
          freed += (await blobs.stat(x)) ?? 0;
          await blobs.delete(x);
        }
        evictable = [];
        return freed;
      },
    },
  );
  assert.equal(await guard.room(50), true, '200 free: room without asking');
  assert.deepEqual(asked, []);
  assert.equal(await guard.room(150), true, 'room made by evicting');
  assert.deepEqual(asked, [51]);
  assert.equal(await blobs.stat(d('a')), undefined);
  assert.equal(await guard.room(650), false, 'nothing left to evict');
  assert.equal(guard.isFull(), false, 'above the reserve: only this miss is refused');
  await blobs.writeAll(d('c'), Buffer.alloc(650));
  assert.equal(await guard.room(0), false);
  assert.equal(guard.isFull(), true, 'at the reserve with nothing to evict: the full state');
});
