/**
 * Small artifacts (announced size ≤ SMALL_BODY) are read whole, verified,
 * answered from memory and committed afterwards: one upstream fetch for
 * concurrent misses, nothing stored or answered when a digest or the size is
 * wrong, and the committed blob is the verified one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { LarderError } from '../../daemon/core/errors.js';
import { SMALL_BODY } from '../../daemon/core/fill/pipeline.js';
import type { ExpectedDigest } from '../../daemon/core/types.js';
import { collect, makeCore, slowResponse } from '../helpers/core.js';

const sha512 = (b: Buffer): ExpectedDigest => ({ algo: 'sha512', hex: createHash('sha512').update(b).digest('hex') });
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('concurrent small misses: one fetch, one MISS per request that came before verification, bytes from memory, then committed', async () => {
  const core = await makeCore();
  try {
    const body = randomBytes(5000);
    let fetches = 0;
    const req = {
      key: 's1',
      expected: [sha512(body)],
      fetch: async () => {
        fetches++;
        return slowResponse(body, { chunk: 1000, delayMs: 2 });
      },
    };
    const served = await Promise.all(Array.from({ length: 12 }, () => core.blobs.get(req)));
    assert.equal(fetches, 1);
    for (const s of served) {
      assert.equal(s.state, 'MISS');
      assert.ok((await collect(s.open())).equals(body), 'the whole body');
      assert.ok((await collect(s.open({ start: 100, end: 199 }))).equals(body.subarray(100, 200)));
    }
    await served[0]!.done();
    const entry = core.deps.index.getEntry('s1');
    assert.equal(entry?.digest, `sha256:${sha256(body)}`);
    assert.ok((await readFile(core.paths.blob(entry.digest).file)).equals(body));
    assert.deepEqual(await readdir(core.paths.tmpDir), [], 'no temp file left');
    assert.equal((await core.blobs.get(req)).state, 'HIT');
    assert.equal(fetches, 1);
  } finally {
    await core.close();
  }
});

test('a small body that does not verify is refused before a byte is answered, stores nothing, and the next request refetches', async () => {
  const core = await makeCore();
  try {
    const good = randomBytes(SMALL_BODY);
    const bad = Buffer.from(good);
    bad[10] = bad[10]! ^ 1;
    let serve = bad;
    let fetches = 0;
    const req = {
      key: 's2',
      expected: [sha512(good)],
      fetch: async () => {
        fetches++;
        return slowResponse(serve, { chunk: 4096 });
      },
    };
    const all = await Promise.allSettled([core.blobs.get(req), core.blobs.get(req)]);
    for (const r of all) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof LarderError && r.reason.code === 'E_INTEGRITY');
    }
    assert.equal(fetches, 1);
    assert.equal(core.deps.index.getEntry('s2'), undefined);
    assert.deepEqual(await readdir(core.paths.tmpDir), []);
    serve = good;
    const again = await core.blobs.get(req);
    assert.equal(again.state, 'MISS');
    await again.done();
    assert.equal(fetches, 2);
    assert.equal(core.deps.index.getEntry('s2')?.size, SMALL_BODY);
  } finally {
    await core.close();
  }
});

test('a small body longer or shorter than announced is an integrity failure', async () => {
  const core = await makeCore();
  try {
    const body = randomBytes(3000);
    for (const announced of [2000, 4000]) {
      const key = `s3-${announced}`;
      const res = { ...slowResponse(body), headers: { 'content-length': String(announced) } };
      await assert.rejects(
        core.blobs.get({ key, expected: [], fetch: async () => res }),
        (e: unknown) => e instanceof LarderError && e.code === 'E_INTEGRITY',
      );
      assert.equal(core.deps.index.getEntry(key), undefined);
    }
  } finally {
    await core.close();
  }
});
