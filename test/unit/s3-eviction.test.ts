/**
 * The cluster's S3-tier eviction pass (daemon/cluster/s3-eviction.ts) over
 * an in-memory bucket: it runs only when etcd confirms the leader, acts
 * above the high watermark, removes the oldest unpinned blobs past the
 * grace period until under the low one, deletes every entry that needs a
 * blob before the blob, tells the nodes, and stops when leadership is lost.
 * It fails closed: no pass while a pin's closure is warmed or an entry
 * object cannot be read; a blob written again since the listing stays;
 * leadership is confirmed again during a long pass; a pin written after the
 * pin set was read (no warming marker left) stops the pass.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Bucket, S3Eviction, type S3EvictionDeps } from '../../daemon/cluster/s3-eviction.js';
import type { Entry } from '../../daemon/core/types.js';

const d = (n: number): string => `sha256:${String(n).padStart(64, '0')}`;
const entry = (key: string, digest: string): Entry => ({ key, digest, size: 100 }) as Entry;

function bucket(blobs: Array<[number, number]>, entries: Array<[string, number]>) {
  const b = new Map(blobs.map(([n, modified]) => [d(n), { size: 100, modified }]));
  const e = new Map(entries.map(([key, n]) => [`entries/${key}.json`, entry(key, d(n))]));
  const log: string[] = [];
  const api: Bucket = {
    async *blobs() {
      for (const [digest, m] of b) yield { digest, ...m };
    },
    async *entries() {
      for (const k of e.keys()) yield { key: k, etag: 'x' };
    },
    entry: async (k) => e.get(k),
    modified: async (digest) => b.get(digest)?.modified,
    remove: async (k) => {
      log.push(`remove ${k}`);
      if (k.startsWith('entries/')) e.delete(k);
      else b.delete(`sha256:${k.slice('blobs/sha256/'.length)}`);
    },
    blobKey: (digest) => `blobs/sha256/${digest.slice(7)}`,
  };
  return { api, b, e, log };
}

const deps = (api: Bucket, over: Partial<S3EvictionDeps> = {}): S3EvictionDeps => ({
  bucket: api,
  budget: { maxBytes: 1000, high: 0.9, low: 0.5 },
  confirm: async () => true,
  leading: () => true,
  confirmEveryMs: 60_000,
  warming: async () => false,
  pinnedKeys: async () => ({ keys: new Set(), revision: 1n }),
  pinsWrittenSince: async () => false,
  localAccess: () => undefined,
  evicted: async () => undefined,
  graceMs: 1000,
  now: () => 100_000,
  ...over,
});

test('oldest unpinned blobs past the grace go first, entries before their blob, until under the low watermark', async () => {
  // Ten blobs of 100 bytes (1000 of a 1000 budget): blob 1 oldest and pinned, blob 10 inside the grace.
  const t = bucket(
    Array.from({ length: 10 }, (_, i) => [i + 1, i === 9 ? 99_500 : 1000 + i]),
    [
      ['pinned', 1],
      ['two', 2],
      ['two-again', 2],
      ['three', 3],
    ],
  );
  const notices: Array<[string, string[]]> = [];
  const ev = new S3Eviction(
    deps(t.api, {
      pinnedKeys: async () => ({ keys: new Set(['pinned']), revision: 1n }),
      localAccess: (digest) => (digest === d(3) ? 50_000 : undefined), // read lately on the leader
      evicted: async (digest, keys) => void notices.push([digest, keys.sort()]),
    }),
  );
  const r = await ev.pass();
  assert.deepEqual(
    { ran: r.ran, removed: r.removed, bytes: r.bytes, usedBytes: r.usedBytes },
    { ran: true, removed: 5, bytes: 500, usedBytes: 500 },
  );
  assert.deepEqual([...t.b.keys()].sort(), [d(1), d(3), d(8), d(9), d(10)].sort(), 'pinned, recently read and newest stay');
  assert.deepEqual([...t.e.keys()].sort(), ['entries/pinned.json', 'entries/three.json']);
  assert.deepEqual(
    t.log.slice(0, 3).sort(),
    [`remove blobs/sha256/${d(2).slice(7)}`, 'remove entries/two-again.json', 'remove entries/two.json'].sort(),
  );
  assert.match(t.log[2]!, /^remove blobs\//, 'the entries of a blob go before it');
  assert.deepEqual(notices[0], [d(2), ['two', 'two-again']]);
  assert.equal(notices.length, 5);
});

test('nothing happens under the high watermark, for a member, without etcd, or once leadership is lost', async () => {
  const under = bucket([[1, 0]], []);
  assert.deepEqual(await new S3Eviction(deps(under.api)).pass(), { ran: true, usedBytes: 100, removed: 0, bytes: 0 });

  const full = (): ReturnType<typeof bucket> =>
    bucket(
      Array.from({ length: 10 }, (_, i) => [i + 1, i]),
      [],
    );
  const member = full();
  const r1 = await new S3Eviction(deps(member.api, { confirm: async () => false, leading: () => false })).pass();
  assert.deepEqual(r1, { ran: false, skipped: 'member', removed: 0, bytes: 0 });
  const cutOff = full();
  const r2 = await new S3Eviction(deps(cutOff.api, { confirm: async () => false, leading: () => true })).pass();
  assert.equal(r2.skipped, 'etcd', 'elected, but etcd cannot confirm it');
  const noPins = full();
  const r3 = await new S3Eviction(deps(noPins.api, { pinnedKeys: () => Promise.reject(new Error('etcd down')) })).pass();
  assert.equal(r3.skipped, 'etcd', 'the pin set cannot be read');
  for (const t of [member, cutOff, noPins]) assert.deepEqual(t.log, []);

  const lost = full();
  let leading = true;
  const r4 = await new S3Eviction(
    deps(lost.api, {
      leading: () => leading,
      evicted: async () => {
        leading = false;
      },
    }),
  ).pass();
  assert.equal(r4.removed, 1, 'stops after the removal during which leadership was lost');
});

test("no pass while a pin's closure is being warmed or an entry object cannot be read", async () => {
  const full = (): ReturnType<typeof bucket> =>
    bucket(
      Array.from({ length: 10 }, (_, i) => [i + 1, i]),
      [['one', 1]],
    );
  const warming = full();
  const r1 = await new S3Eviction(deps(warming.api, { warming: async () => true })).pass();
  assert.equal(r1.skipped, 'warming');
  const noEtcd = full();
  const r2 = await new S3Eviction(deps(noEtcd.api, { warming: () => Promise.reject(new Error('etcd down')) })).pass();
  assert.equal(r2.skipped, 'etcd');
  const broken = full();
  const entry = broken.api.entry;
  broken.api.entry = async (k) => (k === 'entries/one.json' ? 'unreadable' : entry(k));
  const r3 = await new S3Eviction(deps(broken.api, { pinnedKeys: async () => ({ keys: new Set(['one']), revision: 1n }) })).pass();
  assert.deepEqual([r3.skipped, r3.unreadable], ['unreadable', ['entries/one.json']], 'its blobs might be pinned');
  for (const t of [warming, noEtcd, broken]) assert.deepEqual(t.log, []);

  // A warm that begins during the pass stops it before the next removal.
  const during = full();
  let marked = false;
  const r4 = await new S3Eviction(
    deps(during.api, {
      warming: async () => marked,
      evicted: async () => {
        marked = true;
      },
    }),
  ).pass();
  assert.equal(r4.removed, 1);
});

test('a blob written again since the listing stays; a long pass asks etcd again whether this node leads', async () => {
  const t = bucket(
    Array.from({ length: 10 }, (_, i) => [i + 1, i]),
    [],
  );
  // Blob 1 (the oldest) is written again by another node after the listing.
  const modified = t.api.modified;
  t.api.modified = async (digest) => (digest === d(1) ? 99_999 : modified(digest));
  const r = await new S3Eviction(deps(t.api)).pass();
  assert.equal(r.removed, 5);
  assert.ok(t.b.has(d(1)), 'the rewritten blob stays');
  assert.ok(!t.b.has(d(6)), 'the next oldest goes in its place');

  let clock = 100_000;
  let confirms = 0;
  const long = bucket(
    Array.from({ length: 10 }, (_, i) => [i + 1, i]),
    [],
  );
  const r2 = await new S3Eviction(
    deps(long.api, {
      now: () => clock,
      confirmEveryMs: 3_000,
      confirm: async () => ++confirms === 1, // etcd says yes at the start, then no
      evicted: async () => {
        clock += 2_000; // each removal takes 2 s
      },
    }),
  ).pass();
  assert.equal(confirms, 2, 'asked again once more than a third of the TTL had passed');
  assert.equal(r2.removed, 2, 'stopped when etcd no longer confirmed this node');
});

test('a pin written after the pin set was read protects its blob: the pass stops before the next removal', async () => {
  // Blob 1 (the oldest) backs entry `one`, pinned by a bundle import (no marker) between the pin-set read and the first removal.
  const t = bucket(
    Array.from({ length: 10 }, (_, i) => [i + 1, i]),
    [['one', 1]],
  );
  let revision = 7n; // etcd's revision: the pin-set read sees 7
  let markerChecks = 0;
  const asked: bigint[] = [];
  const r = await new S3Eviction(
    deps(t.api, {
      warming: async () => {
        if (++markerChecks === 2) revision = 8n; // after the pin-set read: the pin of `one` is written, no marker
        return false;
      },
      pinnedKeys: async () => ({ keys: new Set(), revision }),
      pinsWrittenSince: async (since) => {
        asked.push(since);
        return revision > since;
      },
    }),
  ).pass();
  assert.ok(t.b.has(d(1)) && t.e.has('entries/one.json'), 'the newly pinned closure keeps its blob and entry');
  assert.deepEqual([r.skipped, r.removed], ['pins', 0]);
  assert.deepEqual(t.log, []);
  assert.ok(
    asked.every((v) => v === 7n),
    'asked against the revision of the pin-set read',
  );

  // etcd unreachable for that check: fail closed too.
  const down = bucket(
    Array.from({ length: 10 }, (_, i) => [i + 1, i]),
    [],
  );
  const r2 = await new S3Eviction(deps(down.api, { pinsWrittenSince: () => Promise.reject(new Error('etcd down')) })).pass();
  assert.equal(r2.removed, 0);
  assert.deepEqual(down.log, []);
});
