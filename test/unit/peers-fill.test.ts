/**
 * LAN peers without sockets, part two: the digest index the peer API answers
 * from (immutable, committed, still indexed blobs only), and the peer fill:
 * streamed into a temp file and verified, a failed temp write, and what a
 * broken-off transfer reports (failures, resumes, fallback delays).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { fromPeers } from '../../daemon/core/fill/peer-fill.js';
import type { PeerSource, UpstreamResponse } from '../../daemon/core/ports.js';
import { PeerDigestIndex } from '../../daemon/peers/digest-index.js';
import { FsBlobStore } from '../../daemon/storage/fs-blob-store.js';
import { collect, countingTemp, makeCore, slowResponse } from '../helpers/core.js';

const hex = (algo: string, b: Buffer): string => createHash(algo).update(b).digest('hex');

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

/** A peer fill of `body` (the peer sends `peerBody`) with an in-memory temp file; what the peer source was told. */
async function peerFill(o: { peerBody: Readable; upstream?: (from?: number) => UpstreamResponse; signal?: AbortSignal; onWrite?(): void }) {
  const body = Buffer.from('0123456789');
  const told: string[] = [];
  const delays: number[] = [];
  const peers: PeerSource = {
    offer: async () => ({ peer: 'p', res: { status: 200, headers: {}, body: o.peerBody, url: 'http://p/x' } }),
    failed: (_p, why) => void told.push(`failed ${why}`),
    served: (_p, bytes, whole) => void told.push(`served ${bytes} ${whole}`),
    resumed: (how) => void told.push(`resumed ${how}`),
    fellBack: (e) => {
      told.push(`fellBack ${e.how} ${e.peerBytes}`);
      delays.push(e.delayMs);
    },
    stallMs: 60_000,
  };
  const temp = countingTemp(o.onWrite);
  const upstream =
    o.upstream ??
    ((from?: number) => ({
      status: 206,
      headers: { 'content-range': `bytes ${from}-9/10` },
      body: Readable.from([body.subarray(from)]),
      url: 'u',
    }));
  const req = {
    key: 'k',
    expected: [{ algo: 'sha256' as const, hex: hex('sha256', body) }],
    fetch: async (_s: AbortSignal, from?: number) => upstream(from),
  };
  const filled = await fromPeers({ peers, createTemp: async () => temp }, req, o.signal ?? new AbortController().signal);
  return { filled, told, delays };
}

/** The first `n` bytes of the body, then the connection breaks. */
const cutAfter = (n: number): Readable =>
  Readable.from(
    (async function* () {
      if (n > 0) yield Buffer.from('0123456789'.slice(0, n));
      throw new Error('ECONNRESET');
    })(),
  );

test('a peer fill aborted by shutdown blames no peer and reports no resume', async () => {
  const ac = new AbortController();
  const peerBody = new Readable({ read() {} });
  peerBody.push(Buffer.from('0123'));
  setTimeout(() => ac.abort(), 20);
  const { filled, told } = await peerFill({ peerBody, signal: ac.signal });
  assert.equal(filled, undefined);
  assert.deepEqual(told, []);
});

test('resumes are reported once each with the fallback delay, by how: range, restart (peer sent nothing), retry (Range failed)', async () => {
  const ranged = await peerFill({ peerBody: cutAfter(4) });
  assert.equal(ranged.filled?.kind, 'verified');
  assert.deepEqual(ranged.told, ['failed transfer', 'fellBack range 4', 'resumed range', 'served 4 false']);
  const nothing = await peerFill({ peerBody: cutAfter(0) });
  assert.equal(nothing.filled, undefined);
  assert.deepEqual(nothing.told, ['failed transfer', 'fellBack restart 0', 'resumed restart']);
  const refused = await peerFill({
    peerBody: cutAfter(4),
    upstream: () => ({ status: 503, headers: {}, body: Readable.from([]), url: 'u' }),
  });
  assert.equal(refused.filled, undefined, 'the caller asks the upstream again from the start');
  assert.deepEqual(refused.told, ['failed transfer', 'fellBack retry 0', 'resumed retry']);
});

test("the fallback delay runs from when the peer's last bytes arrived, not from when they were written", async () => {
  const realNow = Date.now;
  let clock = realNow();
  Date.now = () => clock;
  try {
    // Writing the peer's bytes takes 1 s (a slow disk) on this clock; then the peer breaks off.
    const { delays } = await peerFill({
      peerBody: cutAfter(4),
      onWrite: () => {
        clock += 1_000;
      },
    });
    assert.deepEqual(delays, [1_000]);
  } finally {
    Date.now = realNow;
  }
});
