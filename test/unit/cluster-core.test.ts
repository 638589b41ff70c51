/**
 * The core's cluster step (daemon/core/cluster.ts) with in-memory ports: two
 * cores ("nodes") sharing one blob store, one shared index and one fill
 * coordinator. The real engines (etcd, Ceph RGW) are covered by
 * test/integration/cluster-etcd.test.ts; this pins the core's part: a node
 * whose turn waited adopts the other's entry instead of fetching, and takes
 * the fill over when the other's fill failed.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SharedIndexStore } from '../../daemon/cluster/shared-index.js';
import type { FillCoordinator, FillTurn } from '../../daemon/core/cluster.js';
import type { Entry, ExpectedDigest } from '../../daemon/core/types.js';
import type { UpstreamResponse } from '../../daemon/core/ports.js';
import { waitFor } from '../helpers/wait.js';
import { collect, makeCore, slowResponse, statusResponse, type CoreHarness } from '../helpers/core.js';

const sha512 = (b: Buffer): ExpectedDigest => ({ algo: 'sha512', hex: createHash('sha512').update(b).digest('hex') });

/** Claims by key, in memory: a waiter resumes when the holder releases. */
function coordinator(): FillCoordinator {
  const held = new Map<string, Promise<void>>();
  return {
    async turn(key: string): Promise<FillTurn> {
      for (let h = held.get(key); h; h = held.get(key)) await h;
      let release!: () => void;
      held.set(key, new Promise<void>((r) => (release = r)));
      return {
        release: () => {
          held.delete(key);
          release();
        },
      };
    },
  };
}

/** Two nodes: one blob store, one shared index (the real SharedIndexStore over a Map), one coordinator. */
async function twoNodes(stale = new Set<string>()): Promise<[CoreHarness, CoreHarness, Map<string, Entry>]> {
  const fills = coordinator();
  const shared = new Map<string, Entry>();
  // A key in `stale` reads as absent once: a read that happened just before the other node published.
  const entries = {
    put: async (e: Entry) => void shared.set(e.key, e),
    get: async (k: string) => (stale.delete(k) ? undefined : shared.get(k)),
  };
  const a = await makeCore();
  const b = await makeCore();
  b.deps.blobs = a.deps.blobs; // one shared blob tier
  for (const n of [a, b]) {
    const index = new SharedIndexStore(n.deps.index, entries, { failed: (_op, err) => assert.fail(err as Error) });
    n.deps.index = index;
    n.deps.cluster = { fills, index };
  }
  return [a, b, shared];
}

test('a node that waited for the other node adopts its entry: one upstream fetch', async () => {
  const [a, b] = await twoNodes();
  try {
    const body = randomBytes(300_000);
    let fetches = 0;
    const req = {
      key: 'k',
      expected: [sha512(body)],
      fetch: async () => {
        fetches++;
        return slowResponse(body, { delayMs: 2 });
      },
    };
    const [sa, sb] = await Promise.all([a.blobs.get(req), b.blobs.get(req)]);
    assert.ok((await collect(sa.open())).equals(body));
    assert.ok((await collect(sb.open())).equals(body));
    assert.equal(fetches, 1);
    assert.deepEqual([sa.state, sb.state].sort(), ['HIT', 'MISS']);
    await Promise.all([sa.done(), sb.done()]);
  } finally {
    await a.close();
    await b.close();
  }
});

test("when the filling node's fetch fails, the waiting node takes the fill over", async () => {
  const [a, b] = await twoNodes();
  try {
    const body = randomBytes(50_000);
    let fetches = 0;
    const req = {
      key: 'k2',
      expected: [sha512(body)],
      fetch: async () => (++fetches === 1 ? statusResponse(502) : slowResponse(body)),
    };
    const [ra, rb] = await Promise.allSettled([a.blobs.get(req), b.blobs.get(req)]);
    const ok = [ra, rb].filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 1, 'the first fill failed, the second node fetched anew');
    assert.ok((await collect(ok[0]!.value.open())).equals(body));
    await ok[0]!.value.done();
    assert.equal(fetches, 2);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a document one node fetched is a hit on the other without any upstream request', async () => {
  const [a, b, shared] = await twoNodes();
  try {
    const doc = Buffer.from(JSON.stringify({ name: 'x', versions: {} }));
    const req = (fetch: () => Promise<UpstreamResponse>) => ({
      key: 'doc:x',
      ttlMs: 60_000,
      deriveTag: 't1',
      fetch,
      derive: (raw: Buffer) => ({ variants: { full: { body: raw, mediaType: 'application/json' } } }),
    });
    const first = await a.documents.get(req(async () => slowResponse(doc)));
    assert.equal(first.state, 'MISS');
    await a.deps.later?.flush();
    await waitFor(() => shared.get('doc:x'), 5_000, 'the document to be published');
    const onB = await b.documents.get(req(() => Promise.reject(new Error('no upstream request expected'))));
    assert.equal(onB.state, 'HIT');
    assert.ok((await b.documents.variant(onB.entry.variants!.full!)).equals(doc));
  } finally {
    await a.close();
    await b.close();
  }
});

test('a claim won after the other node ended its turn reads the shared index again: no second fetch', async () => {
  const stale = new Set<string>();
  const [a, b] = await twoNodes(stale);
  try {
    const body = randomBytes(20_000);
    let fetches = 0;
    const req = {
      key: 'k3',
      expected: [sha512(body)],
      fetch: async () => {
        fetches++;
        return slowResponse(body);
      },
    };
    const first = await a.blobs.get(req);
    await first.done();
    stale.add('k3'); // node b's first read raced node a's publish
    const second = await b.blobs.get(req);
    assert.ok((await collect(second.open())).equals(body));
    assert.equal(second.state, 'HIT');
    assert.equal(fetches, 1);
  } finally {
    await a.close();
    await b.close();
  }
});
