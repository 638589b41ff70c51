/**
 * The cluster's pin change feed store on a real etcd, without daemons: two
 * nodes appending at once get one gap-free sequence (each number taken by
 * one etcd transaction, retried on conflict) and read the same records; a
 * node's long poll wakes up when the other node appends; the same pin move
 * reported by two nodes is recorded once; retention keeps the newest
 * records and tells a reader behind them to start over; with etcd down an
 * append fails with E_STORAGE and reads answer from the node's copy.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { EtcdFeedStore } from '../../daemon/cluster/etcd-feed.js';
import { EtcdSession } from '../../daemon/cluster/etcd-session.js';
import { PinFeed } from '../../daemon/replication/feed.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { LarderError } from '../../daemon/core/errors.js';
import { waitFor } from '../helpers/wait.js';

let etcd: EtcdServer;
const sessions: EtcdSession[] = [];
const stores: EtcdFeedStore[] = [];
/** Reads of the feed that failed (etcd down). */
const failures: unknown[] = [];

before(async () => {
  etcd = await startEtcd();
});

after(async () => {
  await Promise.all(stores.map((s) => s.stop()));
  await Promise.all(sessions.map((s) => s.stop()));
  await etcd?.stop();
});

/** One node's feed store in cluster `name`. */
async function node(name: string, node: string, retain?: number): Promise<EtcdFeedStore> {
  const session = new EtcdSession({
    hosts: [etcd.url],
    prefix: `/larder/${name}/`,
    node,
    leaseTtlSec: 5,
    describe: () => ({}),
    onState: () => undefined,
  });
  sessions.push(session);
  const store = new EtcdFeedStore(session, { failed: (err) => failures.push(err) }, retain);
  stores.push(store);
  await store.start();
  return store;
}

test('concurrent appends on two nodes: one gap-free sequence, the same on both; a poll on one wakes when the other appends', async () => {
  const name = `f${randomBytes(3).toString('hex')}`;
  const [a, b] = [await node(name, 'a'), await node(name, 'b')];
  const refs = Array.from({ length: 40 }, (_, i) => `npm:p${i}@1.0.0`);
  const got = await Promise.all(refs.map((ref, i) => (i % 2 ? a : b).append({ kind: 'add', ref, resolved: '1.0.0' })));
  const seqs = got.map((r) => r?.seq ?? 0).sort((x, y) => x - y);
  assert.deepEqual(
    seqs,
    refs.map((_, i) => i + 1),
    'every append got its own number, none skipped',
  );
  for (const s of [a, b]) await waitFor(() => s.head === 40, 10_000, 'both nodes to see the 40 records');
  assert.deepEqual(a.since(0, 1000), b.since(0, 1000), 'the same records on both nodes');
  assert.deepEqual(
    a.since(0, 1000).map((r) => [r.seq, r.ref]),
    got.map((r) => [r?.seq, r?.ref]).sort((x, y) => Number(x[0]) - Number(y[0])),
  );
  assert.deepEqual(
    a.since(38, 10).map((r) => r.seq),
    [39, 40],
  );

  const feedB = new PinFeed(b);
  const waiting = feedB.poll(40, 20_000);
  await a.append({ kind: 'remove', ref: refs[0]! });
  const woke = await waiting;
  assert.deepEqual(
    woke.map((r) => [r.seq, r.kind, r.ref]),
    [[41, 'remove', refs[0]]],
  );
  feedB.close();
});

test('the same pin move reported by two nodes is recorded once; a new move is recorded', async () => {
  const name = `r${randomBytes(3).toString('hex')}`;
  const [a, b] = [await node(name, 'a'), await node(name, 'b')];
  await a.append({ kind: 'add', ref: 'npm:m@latest', resolved: '1.0.0' });
  const both = await Promise.all([a, b].map((s) => s.append({ kind: 'resolve', ref: 'npm:m@latest', resolved: '1.1.0' })));
  assert.equal(both.filter(Boolean).length, 1, 'one of the two reports recorded');
  assert.equal((await b.append({ kind: 'resolve', ref: 'npm:m@latest', resolved: '1.2.0' }))?.seq, 3);
  await a.append({ kind: 'remove', ref: 'npm:m@latest' });
  assert.equal((await b.append({ kind: 'add', ref: 'npm:m@latest', resolved: '1.2.0' }))?.seq, 5, 'pinned again after a remove');
});

test('retention keeps the newest records; a reader behind them is told to start over', async () => {
  const name = `k${randomBytes(3).toString('hex')}`;
  const [a, b] = [await node(name, 'a', 5), await node(name, 'b', 5)];
  for (let i = 1; i <= 8; i++) await (i % 2 ? a : b).append({ kind: 'add', ref: `npm:k${i}@1` });
  for (const s of [a, b]) {
    await waitFor(() => s.head === 8 && s.since(0, 100).length === 5, 10_000, 'the newest five records');
    assert.deepEqual(
      s.since(0, 100).map((r) => r.seq),
      [4, 5, 6, 7, 8],
    );
    const feed = new PinFeed(s);
    assert.equal(feed.trimmed(2), true, 'record 3 is gone: a reader at 2 starts over');
    assert.equal(feed.trimmed(3), false);
    assert.equal(feed.trimmed(0), false, 'a reader from the start gets what is kept');
  }
  const late = await node(name, 'c', 5);
  assert.deepEqual(
    late.since(0, 100).map((r) => r.seq),
    [4, 5, 6, 7, 8],
    'a node that starts later reads the same window',
  );
  assert.equal(late.head, 8);
});

test('etcd down: an append fails with E_STORAGE, reads answer from the copy; etcd back: appends go on', async () => {
  const name = `d${randomBytes(3).toString('hex')}`;
  const a = await node(name, 'a');
  let b: EtcdFeedStore | undefined;
  await a.append({ kind: 'add', ref: 'npm:x@1' });
  await etcd.kill();
  try {
    await assert.rejects(
      a.append({ kind: 'add', ref: 'npm:y@1' }),
      (err: unknown) => err instanceof LarderError && err.code === 'E_STORAGE',
    );
    assert.deepEqual(
      a.since(0, 10).map((r) => r.ref),
      ['npm:x@1'],
    );
    assert.equal(a.loaded, true);
    b = await node(name, 'b');
    assert.equal(b.loaded, false, 'a node that never read the feed says so (its head 0 means nothing)');
  } finally {
    await etcd.start();
  }
  const late = b;
  await waitFor(() => late.loaded && late.head === 1, 20_000, 'the node started during the outage to read the feed');
  // The client reconnects on its own; the next appends succeed.
  const rec = await waitFor(
    () => a.append({ kind: 'add', ref: 'npm:y@1' }).catch(() => undefined),
    20_000,
    'an append after the restart',
    200,
  );
  assert.ok(rec.seq >= 2, `seq ${rec.seq}`);
  await waitFor(() => a.head === rec.seq, 10_000, 'the copy to follow again');
  assert.equal(a.since(0, 10).at(-1)?.ref, 'npm:y@1');
});
