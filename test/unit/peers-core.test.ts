/**
 * LAN peers without sockets: the `peers:` config contract, the digest index
 * the peer API answers from (immutable, committed, still indexed blobs
 * only), and the peer chooser (first positive HEAD wins, dropped peers are
 * not asked).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { validateConfig } from '../../daemon/config/load.js';
import type { PeerSource, UpstreamClient, UpstreamRequest, UpstreamResponse } from '../../daemon/core/ports.js';
import { PeerDigestIndex } from '../../daemon/peers/digest-index.js';
import { FsBlobStore } from '../../daemon/storage/fs-blob-store.js';
import { LanPeers } from '../../daemon/upstream/peers.js';
import { collect, makeCore, slowResponse } from '../helpers/core.js';

const hex = (algo: string, b: Buffer): string => createHash(algo).update(b).digest('hex');

test('peers config: off by default, mdns accepted, a token required when enabled and interpolated', () => {
  assert.equal(validateConfig({}, 't').peers.enabled, false);
  const env = { LARDER_PEER_TOKEN: 'site-secret' };
  const on = validateConfig({ peers: { enabled: true, discover: ['mdns', 'static'], token: '${LARDER_PEER_TOKEN}' } }, 't', env);
  assert.equal(on.peers.token, 'site-secret');
  assert.deepEqual(on.peers.discover, ['mdns', 'static']);
  assert.throws(() => validateConfig({ peers: { enabled: true } }, 't'), /peers\.token is required/);
  assert.throws(() => validateConfig({ peers: { discover: 'carrier-pigeon' } }, 't'));
  assert.throws(() => validateConfig({ peers: { static: ['ftp://10.0.0.1'] } }, 't'));
});

test('the peer digest index lists committed immutable blobs by sha256 and sha512, never mutable ones', async () => {
  const core = await makeCore();
  try {
    const body = Buffer.from('a tarball body');
    const served = await core.blobs.get({
      key: 'npm:local:tgz:a/a-1.tgz',
      expected: [{ algo: 'sha512', hex: hex('sha512', body) }],
      fetch: async () => slowResponse(body),
    });
    await collect(served.open());
    await served.done();
    const doc = Buffer.from('{"a packument":1}');
    const docDigest = `sha256:${hex('sha256', doc)}`;
    await core.deps.blobs.writeAll(docDigest, doc);
    await core.deps.index.putEntry(
      { key: 'npm:local:doc:a', digest: docDigest, size: doc.length, fetchedAt: 1, expiresAt: 2, immutable: false },
      [[docDigest, { size: doc.length, createdAt: 1, lastAccess: 1 }]],
    );
    const peers = new PeerDigestIndex(core.deps.index);
    const digest = `sha256:${hex('sha256', body)}`;
    assert.equal(peers.lookup('sha512', hex('sha512', body)), digest);
    assert.equal(peers.lookup('sha256', hex('sha256', body)), digest);
    assert.equal(peers.lookup('sha256', hex('sha256', doc)), undefined, 'a mutable document is not offered');
    await core.deps.index.deleteEntry('npm:local:tgz:a/a-1.tgz');
    await core.deps.index.deleteBlob(digest);
    assert.equal(peers.lookup('sha512', hex('sha512', body)), undefined, 'an evicted blob is not offered');
  } finally {
    await core.close();
  }
});

/** A client whose answers are scripted by peer host: a status, a thrown error, or no answer until aborted. */
function scripted(answers: Record<string, number | 'down' | 'hang'>, asked: string[]): UpstreamClient {
  return {
    async request(req: UpstreamRequest): Promise<UpstreamResponse> {
      const host = new URL(req.url).host;
      asked.push(`${req.method ?? 'GET'} ${host}`);
      const a = answers[host];
      if (a === 'hang') {
        return new Promise((_, reject) => req.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      }
      if (a === 'down' || a === undefined) throw new Error('ECONNREFUSED');
      return { status: a, headers: { 'content-length': '3' }, body: Readable.from([Buffer.from('abc')]), url: req.url };
    },
  };
}

test('the peer chooser: first positive answer wins; nobody → undefined; a failed peer is left out', async () => {
  const asked: string[] = [];
  const failures: string[] = [];
  const outcomes: string[] = [];
  const peers = new LanPeers({
    peers: ['http://a:1', 'http://b:1', 'http://c:1/'],
    token: 't',
    client: scripted({ 'a:1': 404, 'b:1': 200, 'c:1': 'down' }, asked),
    onFailure: (peer, reason) => failures.push(`${peer} ${reason}`),
    onAsked: (outcome) => outcomes.push(outcome),
  });
  const digest = { algo: 'sha256' as const, hex: '0'.repeat(64) };
  const offer = await peers.offer(digest, 1 << 20, new AbortController().signal);
  assert.equal(offer?.peer, 'http://b:1');
  assert.ok(asked.includes('GET b:1'));
  assert.equal(await peers.offer(digest, 2, new AbortController().signal), undefined, 'too large for the caller');
  assert.deepEqual(failures, ['http://c:1 unreachable'], 'a peer that cannot be reached is counted (once nobody won)');
  peers.failed('http://b:1', 'integrity');
  asked.length = 0;
  assert.equal(await peers.offer(digest, 1 << 20, new AbortController().signal), undefined);
  assert.deepEqual(asked, ['HEAD a:1'], 'only the healthy peer is asked');
  assert.deepEqual(outcomes, ['held', 'none', 'none'], 'each HEAD round reported by outcome');
  // A peer that does not answer within the budget: the round ends at the budget, counted as such, and it is not dropped.
  const slow = new LanPeers({
    peers: ['http://s:1'],
    token: 't',
    budgetMs: 30,
    client: scripted({ 's:1': 'hang' }, []),
    onAsked: (outcome, ms) => outcomes.push(`${outcome} ${ms >= 25}`),
  });
  assert.equal(await slow.offer(digest, 1 << 20, new AbortController().signal), undefined);
  assert.equal(outcomes.at(-1), 'budget true');
  assert.deepEqual(slow.healthy(), ['http://s:1']);
});

/** `size` deterministic bytes in 1 MiB chunks (never held whole). */
function* pattern(size: number): Generator<Buffer> {
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
  for (let off = 0; off < size; off += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, size - off));
}

test('a peer body over 64 MiB streams through a temp file, verified, and is committed; the upstream is not asked', async () => {
  const size = 64 * 1024 * 1024 + 12_345;
  const h = createHash('sha256');
  for (const c of pattern(size)) h.update(c);
  const sha = h.digest('hex');
  const served: Array<[number, boolean]> = [];
  const peers: PeerSource = {
    offer: async () => ({
      peer: 'http://p:1',
      res: { status: 200, headers: { 'content-length': String(size) }, body: Readable.from(pattern(size)), url: 'http://p:1/x' },
    }),
    failed: () => assert.fail('the peer is not at fault'),
    served: (_peer, bytes, whole) => void served.push([bytes, whole]),
  };
  const core = await makeCore({ peers });
  try {
    let upstream = 0;
    const blob = await core.blobs.get({
      key: 'oci:hub:blob:sha256:big',
      expected: [{ algo: 'sha256', hex: sha }],
      fetch: async () => {
        upstream++;
        throw new Error('the upstream must not be asked');
      },
    });
    assert.equal(blob.size, size);
    assert.equal(blob.digest, `sha256:${sha}`);
    let n = 0;
    const hash = createHash('sha256');
    for await (const c of blob.open() as AsyncIterable<Buffer>) {
      n += c.length;
      hash.update(c);
    }
    assert.equal(n, size);
    assert.equal(hash.digest('hex'), sha);
    assert.equal(await blob.done(), undefined);
    assert.equal(upstream, 0);
    assert.deepEqual(served, [[size, true]]);
    assert.equal(core.deps.index.getEntry('oci:hub:blob:sha256:big')?.size, size);
  } finally {
    await core.close();
  }
});

test('a temp-file write that fails during a peer fill fails the fill: no resume, nothing short committed', async () => {
  const chunks = [Buffer.alloc(4096, 1), Buffer.alloc(4096, 2), Buffer.alloc(4096, 3)];
  const body = Buffer.concat(chunks);
  const sha = hex('sha256', body);
  const blamed: string[] = [];
  const peers: PeerSource = {
    offer: async () => ({
      peer: 'http://p:1',
      res: { status: 200, headers: { 'content-length': String(body.length) }, body: Readable.from(chunks), url: 'http://p:1/x' },
    }),
    failed: (_peer, why) => void blamed.push(why),
    served: () => undefined,
  };
  // The store refuses the second write (a full disk), after the first went through.
  const createTemp = FsBlobStore.prototype.createTemp;
  FsBlobStore.prototype.createTemp = async function (this: FsBlobStore) {
    const temp = await createTemp.call(this);
    let writes = 0;
    const write = temp.write.bind(temp);
    return Object.assign(temp, {
      write: async (data: Buffer | readonly Buffer[]) => {
        if (++writes === 2) throw new Error('ENOSPC: no space left on device');
        return write(data);
      },
    });
  };
  const core = await makeCore({ peers });
  try {
    const ranges: (number | undefined)[] = [];
    const got = core.blobs.get({
      key: 'npm:local:tgz:short/short-1.tgz',
      expected: [{ algo: 'sha256', hex: sha }],
      fetch: async (_signal: AbortSignal, from?: number) => {
        ranges.push(from);
        const rest = body.subarray(from ?? 0);
        return {
          status: from ? 206 : 200,
          headers: from ? { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } : {},
          body: Readable.from([rest]),
          url: 'http://up/x',
        };
      },
    });
    const outcome = await got.then(
      async (served) => (await served.done()) ?? 'committed',
      (err: Error) => err,
    );
    assert.notEqual(outcome, 'committed', 'a fill whose temp file lost a chunk is not committed');
    assert.deepEqual(
      ranges.filter((r) => r !== undefined),
      [],
      'no resume by range into a file that lost a chunk',
    );
    const entry = core.deps.index.getEntry('npm:local:tgz:short/short-1.tgz');
    assert.ok(entry === undefined || entry.size === body.length, 'no short blob indexed');
    assert.deepEqual(blamed, [], 'the peer is not at fault');
  } finally {
    FsBlobStore.prototype.createTemp = createTemp;
    await core.close();
  }
});

test('the peer tally is bounded: peers unlisted past forgetMs are forgotten, and at most maxRemembered are kept', () => {
  let now = 1_000_000;
  let list = ['http://a:1', 'http://b:1'];
  const peers = new LanPeers({
    peers: () => list,
    token: 't',
    client: scripted({}, []),
    forgetMs: 60_000,
    maxRemembered: 3,
    now: () => now,
  });
  peers.served('http://a:1', 10, true);
  peers.failed('http://b:1', 'transfer');
  assert.equal(peers.health().length, 2);
  // b leaves the LAN; a stays listed.
  list = ['http://a:1'];
  now += 30_000;
  assert.equal(peers.health().length, 1);
  assert.equal(peers.remembered(), 2, 'b is still remembered within forgetMs');
  now += 31_000;
  peers.health();
  assert.equal(peers.remembered(), 1, 'b is forgotten past forgetMs');
  assert.equal(peers.health()[0]?.hits, 1, "a's tally is kept while it is listed");
  // b comes back: a fresh tally, not its old failure.
  list = ['http://a:1', 'http://b:1'];
  assert.deepEqual(
    peers.health().map((h) => [h.url, h.healthy, h.failures]),
    [
      ['http://a:1', true, 0],
      ['http://b:1', true, 0],
    ],
  );
  // A flood of discovered peers: at most maxRemembered kept, the longest unseen first out.
  for (let i = 0; i < 10; i++) {
    now += 1_000;
    list = [`http://flood-${i}:1`];
    peers.health();
  }
  assert.equal(peers.remembered(), 3);
  // A peer that served after it left the list is still counted, and bounded like the rest.
  peers.served('http://gone:1', 5, true);
  now += 2_000;
  peers.health();
  assert.ok(peers.remembered() <= 3);
});
