/**
 * Regression tests for the cache-core review mends (55d1121): a range ends only after its body
 * verified, no-store answers are verified, a 304 does not revive an evicted document, a missing
 * document body is fetched anew, and only a missing blob (not any stat error) drops an entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { BlobCache } from '../../daemon/core/blob-cache.js';
import { AccessTracker } from '../../daemon/core/deps.js';
import { LarderError } from '../../daemon/core/errors.js';
import { verifyingStream } from '../../daemon/core/fill/verify.js';
import { HttpCache } from '../../daemon/core/http-cache.js';
import type { BlobStore, UpstreamResponse } from '../../daemon/core/ports.js';
import type { ExpectedDigest, HashAlgo, Validators } from '../../daemon/core/types.js';
import { collect, makeCore, slowResponse, statusResponse } from '../helpers/core.js';

const digest = (algo: HashAlgo, b: Buffer): ExpectedDigest => ({ algo, hex: createHash(algo).update(b).digest('hex') });
const isCode = (code: string) => (e: unknown) => (e as { code?: unknown }).code === code;
const RANGE = { start: 0, end: 1023 };

function corrupted(body: Buffer, at: number): Buffer {
  const bad = Buffer.from(body);
  bad[at] = bad[at]! ^ 0xff;
  return bad;
}

/** An upstream that sends all but its last `tail` bytes, then the rest once released. */
function gated(body: Buffer, tail: number): { stream: PassThrough; release(): void } {
  const stream = new PassThrough();
  stream.write(body.subarray(0, body.length - tail));
  return { stream, release: () => void stream.end(body.subarray(body.length - tail)) };
}

/**
 * Reads like an HTTP client told `Content-Length: length`: done (and gone) once that many bytes
 * arrived, even if the stream would fail later; `onData` sees the running total.
 */
function readAsClient(stream: Readable, length: number, onData: (got: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      onData(got);
      if (got >= length) {
        stream.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

test('a range of a cold streaming fill fails when the body does not verify, and is whole when it does', async () => {
  const core = await makeCore();
  try {
    for (const corrupt of [true, false]) {
      const good = randomBytes(400_000);
      const up = gated(corrupt ? corrupted(good, good.length - 10) : good, 32 * 1024);
      const served = await core.blobs.get({
        key: `range-${corrupt}`,
        expected: [digest('sha512', good)],
        fetch: async () => ({ status: 200, headers: { 'content-length': String(good.length) }, body: up.stream, url: 'x' }),
      });
      // The upstream's last bytes come only once the client holds all but the range's last byte.
      const read = readAsClient(served.open(RANGE), 1024, (got) => got >= 1023 && up.release());
      if (corrupt) await assert.rejects(read, isCode('E_INTEGRITY'));
      else assert.ok((await read).equals(good.subarray(0, 1024)));
      await served.done();
    }
  } finally {
    await core.close();
  }
});

test('verifyingStream holds a range back until the body verified', async () => {
  for (const corrupt of [true, false]) {
    const good = randomBytes(300_000);
    const up = gated(corrupt ? corrupted(good, good.length - 10) : good, 16 * 1024);
    const spec = { key: 'v', expected: [digest('sha512', good)], expectedSize: good.length };
    const read = readAsClient(verifyingStream(up.stream, spec, RANGE), 1024, (got) => got >= 1023 && up.release());
    if (corrupt) await assert.rejects(read, isCode('E_INTEGRITY'));
    else assert.ok((await read).equals(good.subarray(0, 1024)));
  }
});

test('a no-store answer is verified against the expected digest', async () => {
  const core = await makeCore();
  try {
    const http = new HttpCache(core.deps, new AccessTracker(core.deps));
    const good = randomBytes(200_000);
    const served = await http.get({
      key: 'nostore',
      immutable: false,
      fallbackTtlMs: 60_000,
      expected: [digest('sha256', good)],
      fetch: async () => slowResponse(corrupted(good, 150_000), { headers: { 'cache-control': 'no-store' } }),
    });
    assert.equal(served.kind, 'bypass');
    if (served.kind !== 'bypass') return;
    await assert.rejects(collect(served.response.body), isCode('E_INTEGRITY'));
    assert.equal(core.deps.index.getEntry('nostore'), undefined);
  } finally {
    await core.close();
  }
});

/** A scripted document upstream: 200 with an etag, or whatever `on304` answers to a conditional request. */
function docRequest(key: string, ttlMs: number, calls: Validators[], on304?: () => Promise<UpstreamResponse>) {
  const raw = Buffer.from(JSON.stringify({ name: key, pad: 'x'.repeat(1000) }));
  return {
    key,
    ttlMs,
    deriveTag: 't1',
    raw,
    async fetch(validators: Validators): Promise<UpstreamResponse> {
      calls.push(validators);
      if (validators.etag && on304) return on304();
      return slowResponse(raw, { headers: { etag: '"e1"' } });
    },
    // The variant is larger than the hot cache's limit (64 KiB): it is read from disk.
    derive: (b: Buffer) => ({ variants: { main: { body: Buffer.concat([b, Buffer.alloc(100_000, 7)]), mediaType: 'application/json' } } }),
  };
}

test('a 304 for a document evicted meanwhile refetches it in full instead of reviving the entry', async () => {
  const core = await makeCore();
  try {
    const calls: Validators[] = [];
    const req = docRequest('doc-evicted', 0, calls, async () => {
      // Evicted while the upstream was asked: entry and bodies go.
      const entry = core.deps.index.getEntry('doc-evicted')!;
      await core.deps.index.deleteEntry(entry.key);
      for (const d of [entry.digest, entry.variants!.main!.digest]) {
        core.deps.hot.delete(d);
        await core.deps.blobs.delete(d);
      }
      return statusResponse(304);
    });
    assert.equal((await core.documents.get(req)).state, 'MISS');
    await core.documents.drain();
    const again = await core.documents.get(req);
    await core.documents.drain();
    assert.equal(calls.length, 3, 'the 304 is followed by an unconditional fetch');
    assert.equal(calls[1]!.etag, '"e1"');
    assert.deepEqual(calls[2], {});
    const entry = core.deps.index.getEntry('doc-evicted');
    assert.ok(entry);
    assert.equal(entry.digest, again.entry.digest);
    const ref = entry.variants!.main!;
    assert.equal(await core.deps.blobs.stat(entry.digest), req.raw.length);
    assert.equal(await core.deps.blobs.stat(ref.digest), ref.size);
    assert.equal((await core.documents.variant(ref)).length, ref.size);
  } finally {
    await core.close();
  }
});

test('a document whose variant body vanished from disk fails with E_STORAGE and is fetched anew', async () => {
  const core = await makeCore();
  try {
    const calls: Validators[] = [];
    const req = docRequest('doc-lost', 60_000, calls);
    const first = await core.documents.get(req);
    await core.documents.drain();
    const ref = first.entry.variants!.main!;
    await core.deps.blobs.delete(ref.digest);
    await assert.rejects(core.documents.variant(ref), (e: unknown) => e instanceof LarderError && e.code === 'E_STORAGE');
    const again = await core.documents.get(req);
    assert.equal(calls.length, 2, 'the damaged entry is fetched again');
    assert.equal(again.state, 'MISS');
    await core.documents.drain();
    const body = await core.documents.variant(again.entry.variants!.main!);
    assert.equal(body.length, ref.size);
  } finally {
    await core.close();
  }
});

test('a stat error other than a missing blob propagates and keeps the entry', async () => {
  const core = await makeCore();
  try {
    const body = randomBytes(200_000);
    let fetches = 0;
    const req = {
      key: 'emfile',
      expected: [digest('sha512', body)],
      fetch: async () => {
        fetches++;
        return slowResponse(body);
      },
    };
    const first = await core.blobs.get(req);
    assert.ok((await collect(first.open())).equals(body));
    await first.done();
    const inner = core.deps.blobs;
    const emfile = Object.assign(new Error('too many open files'), { code: 'EMFILE' });
    const blobs: BlobStore = {
      stat: () => Promise.reject(emfile),
      createReadStream: (d, r) => inner.createReadStream(d, r),
      openReader: inner.openReader ? (d) => inner.openReader!(d) : undefined,
      readAll: (d) => inner.readAll(d),
      writeAll: (d, b) => inner.writeAll(d, b),
      createTemp: () => inner.createTemp(),
      delete: (d) => inner.delete(d),
      quarantine: (d) => inner.quarantine(d),
      sweepTemp: () => inner.sweepTemp(),
      list: () => inner.list(),
      freeBytes: inner.freeBytes ? () => inner.freeBytes!() : undefined,
    };
    const deps = { ...core.deps, blobs };
    const cache = new BlobCache(deps, new AccessTracker(deps));
    await assert.rejects(cache.get(req), (e: unknown) => e === emfile);
    assert.ok(core.deps.index.getEntry('emfile'), 'the entry is still indexed');
    assert.equal(fetches, 1);
  } finally {
    await core.close();
  }
});
