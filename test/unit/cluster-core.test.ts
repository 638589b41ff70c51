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
import type { ClusterPorts, FillTurn } from '../../daemon/core/cluster.js';
import type { Entry, ExpectedDigest } from '../../daemon/core/types.js';
import { collect, makeCore, slowResponse, statusResponse, type CoreHarness } from '../helpers/core.js';

const sha512 = (b: Buffer): ExpectedDigest => ({ algo: 'sha512', hex: createHash('sha512').update(b).digest('hex') });

/** One cluster: claims by key (a waiter resumes when the holder releases), and a shared index. */
function cluster(): { ports(node: CoreHarness): ClusterPorts; published: Map<string, Entry> } {
  const held = new Map<string, Promise<void>>();
  const published = new Map<string, Entry>();
  const fills = {
    async turn(key: string): Promise<FillTurn> {
      let waited = false;
      for (let h = held.get(key); h; h = held.get(key)) {
        await h;
        waited = true;
      }
      let release!: () => void;
      held.set(key, new Promise<void>((r) => (release = r)));
      return {
        waited,
        release: () => {
          held.delete(key);
          release();
        },
      };
    },
  };
  return {
    published,
    ports: (node) => ({
      fills,
      index: {
        async adopt(key) {
          const e = published.get(key);
          if (e) await node.deps.index.putEntry(e, [[e.digest, { size: e.size, createdAt: 0, lastAccess: 0 }]]);
          return e;
        },
      },
    }),
  };
}

async function twoNodes(): Promise<[CoreHarness, CoreHarness, Map<string, Entry>]> {
  const c = cluster();
  const a = await makeCore();
  const b = await makeCore();
  b.deps.blobs = a.deps.blobs; // one shared blob tier
  for (const n of [a, b]) {
    n.deps.cluster = c.ports(n);
    n.deps.events = { blobCommitted: (e) => void c.published.set(e.key, e) };
  }
  return [a, b, c.published];
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
    assert.equal(fetches, 2);
  } finally {
    await a.close();
    await b.close();
  }
});
