import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { LarderError } from '../../daemon/core/errors.js';
import type { ExpectedDigest } from '../../daemon/core/types.js';
import { collect, makeCore, slowResponse, statusResponse } from '../helpers/core.js';

const sha512 = (b: Buffer): ExpectedDigest => ({ algo: 'sha512', hex: createHash('sha512').update(b).digest('hex') });

async function blobFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of await readdir(`${dir}/blobs/sha256`).catch(() => [] as string[])) {
    for (const f of await readdir(`${dir}/blobs/sha256/${p}`)) out.push(f);
  }
  return out;
}

test('20 concurrent misses cost one upstream fetch and all get the bytes', async () => {
  const core = await makeCore();
  try {
    const body = randomBytes(1_500_000);
    let fetches = 0;
    const req = {
      key: 'k1',
      expected: [sha512(body)],
      fetch: async () => {
        fetches++;
        return slowResponse(body, { delayMs: 2 });
      },
    };
    const served = await Promise.all(Array.from({ length: 20 }, () => core.blobs.get(req)));
    const results = await Promise.all(served.map((s) => collect(s.open())));
    await served[0]!.done();
    assert.equal(fetches, 1);
    for (const r of results) assert.ok(r.equals(body));
    const hit = await core.blobs.get(req);
    assert.equal(hit.state, 'HIT');
    assert.ok((await collect(hit.open({ start: 10, end: 19 }))).equals(body.subarray(10, 20)));
  } finally {
    await core.close();
  }
});

test('a digest mismatch fails every reader, stores nothing, and a retry refetches', async () => {
  const core = await makeCore();
  try {
    const good = randomBytes(300_000);
    const bad = Buffer.from(good);
    bad[150_000] = bad[150_000]! ^ 0xff;
    let serve = bad;
    let fetches = 0;
    const req = {
      key: 'k2',
      expected: [sha512(good)],
      fetch: async () => {
        fetches++;
        return slowResponse(serve, { delayMs: 1 });
      },
    };
    const readers = await Promise.all([core.blobs.get(req), core.blobs.get(req)]);
    for (const r of readers) {
      await assert.rejects(collect(r.open()), (e: unknown) => e instanceof LarderError && e.code === 'E_INTEGRITY');
    }
    assert.equal(core.deps.index.getEntry('k2'), undefined);
    assert.deepEqual(await blobFiles(core.dir), []);
    assert.deepEqual(await readdir(core.paths.tmpDir), []);
    serve = good;
    const again = await core.blobs.get(req);
    assert.equal(again.state, 'MISS');
    assert.ok((await collect(again.open())).equals(good));
    await again.done(); // the commit (rename into blobs/) must not race the cleanup
    assert.equal(fetches, 2);
  } finally {
    await core.close();
  }
});

test('a reader that leaves does not cancel the fill', async () => {
  const core = await makeCore();
  try {
    const body = randomBytes(800_000);
    const served = await core.blobs.get({ key: 'k3', expected: [sha512(body)], fetch: async () => slowResponse(body, { delayMs: 3 }) });
    const s = served.open();
    await new Promise<void>((resolve) => s.once('data', () => resolve()));
    s.destroy();
    await served.done();
    const entry = core.deps.index.getEntry('k3');
    assert.ok(entry);
    assert.equal(entry.size, body.length);
    assert.ok((await core.deps.blobs.readAll(entry.digest)).equals(body));
  } finally {
    await core.close();
  }
});

test('the last bytes are held back until the digest verifies', async () => {
  const core = await makeCore();
  try {
    const body = randomBytes(200_000);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const { PassThrough } = await import('node:stream');
    const upstream = new PassThrough();
    upstream.write(body.subarray(0, 199_999));
    void gate.then(() => upstream.end(body.subarray(199_999)));
    const served = await core.blobs.get({
      key: 'k4',
      expected: [sha512(body)],
      fetch: async () => ({ status: 200, headers: {}, body: upstream, url: 'x' }),
    });
    const s = served.open();
    let got = 0;
    s.on('data', (c: Buffer) => (got += c.length));
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(got <= 200_000 - 64 * 1024, `reader got ${got} bytes before verification`);
    release();
    await new Promise((r) => s.once('end', r));
    assert.equal(got, body.length);
    // The reader ends at verification; the commit (rename + index) finishes after it.
    await served.done();
  } finally {
    await core.close();
  }
});

test('404 is negative-cached briefly; 503 is never cached as not found', async () => {
  const core = await makeCore();
  try {
    let calls = 0;
    let status = 404;
    const req = {
      key: 'k5',
      expected: [],
      negativeTtlMs: 60_000,
      fetch: async () => {
        calls++;
        return statusResponse(status);
      },
    };
    await assert.rejects(core.blobs.get(req), (e: unknown) => e instanceof LarderError && e.code === 'E_NOT_FOUND');
    await assert.rejects(core.blobs.get(req), (e: unknown) => e instanceof LarderError && e.code === 'E_NOT_FOUND');
    assert.equal(calls, 1);
    status = 503;
    const req2 = { ...req, key: 'k6' };
    await assert.rejects(core.blobs.get(req2), (e: unknown) => e instanceof LarderError && e.code === 'E_UPSTREAM_STATUS');
    await assert.rejects(core.blobs.get(req2), (e: unknown) => e instanceof LarderError && e.code === 'E_UPSTREAM_STATUS');
    assert.equal(calls, 3);
  } finally {
    await core.close();
  }
});
