/**
 * The fill pipeline's choices, seen from the blob cache: memory or temp
 * file by announced size, store or verified pass-through by free space, and
 * one entry point for reads that finds an entry whose blob went missing
 * (start-up no longer walks the store) and fetches it again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { LarderError } from '../../daemon/core/errors.js';
import { SMALL_BODY } from '../../daemon/core/fill/pipeline.js';
import { Verifier } from '../../daemon/core/fill/verify.js';
import type { ExpectedDigest } from '../../daemon/core/types.js';
import { collect, makeCore, slowResponse } from '../helpers/core.js';

const sha512 = (b: Buffer): ExpectedDigest => ({ algo: 'sha512', hex: createHash('sha512').update(b).digest('hex') });
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('the verifier refuses a body past its limit or its announced size as soon as it gets there, and checks every digest at the end', () => {
  const body = randomBytes(1000);
  const ok = new Verifier({ key: 'v', expected: [sha512(body)], expectedSize: 1000 });
  ok.update(body.subarray(0, 400));
  ok.update(body.subarray(400));
  assert.deepEqual(ok.finish(), {
    digest: `sha256:${sha256(body)}`,
    size: 1000,
    digests: { sha256: sha256(body), sha512: sha512(body).hex },
  });

  const long = new Verifier({ key: 'v', expected: [], expectedSize: 999 });
  assert.throws(
    () => long.update(body),
    (e: unknown) => e instanceof LarderError && e.code === 'E_INTEGRITY',
  );
  const huge = new Verifier({ key: 'v', expected: [], maxBytes: 500 });
  assert.throws(
    () => huge.update(body),
    (e: unknown) => e instanceof LarderError && e.code === 'E_UPSTREAM',
  );
  const short = new Verifier({ key: 'v', expected: [], expectedSize: 1001 });
  short.update(body);
  assert.throws(
    () => short.finish(),
    (e: unknown) => e instanceof LarderError && e.code === 'E_INTEGRITY',
  );
  const wrong = new Verifier({ key: 'v', expected: [sha512(randomBytes(10))] });
  wrong.update(body);
  assert.throws(
    () => wrong.finish(),
    (e: unknown) => e instanceof LarderError && e.code === 'E_INTEGRITY' && /sha512/.test(e.message),
  );
});

test('a small body is answered only after it verified; a large one streams through a temp file before it did', async () => {
  const core = await makeCore();
  try {
    const small = randomBytes(SMALL_BODY - 1);
    const large = randomBytes(SMALL_BODY * 8);
    let smallOpened = false;
    const served = await core.blobs.get({
      key: 'small',
      expected: [sha512(small)],
      fetch: async () => {
        smallOpened = true;
        return slowResponse(small, { chunk: 4096, delayMs: 1 });
      },
    });
    assert.ok(smallOpened);
    assert.equal(served.digest, `sha256:${sha256(small)}`, 'a small body is answered with its digest: it verified before the answer');
    assert.equal(await served.done(), undefined);

    const streaming = await core.blobs.get({
      key: 'large',
      expected: [sha512(large)],
      fetch: async () => slowResponse(large, { delayMs: 5 }),
    });
    assert.equal(streaming.digest, undefined, 'a large body is answered before it verified');
    assert.equal((await readdir(core.paths.tmpDir)).length, 1, 'it streams through one temp file');
    assert.ok((await collect(streaming.open())).equals(large));
    assert.equal(await streaming.done(), undefined);
    assert.equal(core.deps.index.getEntry('large')?.digest, `sha256:${sha256(large)}`);
  } finally {
    await core.close();
  }
});

test('an entry whose blob is gone is dropped when it is opened and fetched again (no start-up walk needed)', async () => {
  const core = await makeCore();
  try {
    const body = randomBytes(200_000);
    let fetches = 0;
    const req = {
      key: 'gone',
      expected: [sha512(body)],
      fetch: async () => {
        fetches++;
        return slowResponse(body);
      },
    };
    const first = await core.blobs.get(req);
    await collect(first.open());
    await first.done();
    const entry = core.deps.index.getEntry('gone');
    assert.ok(entry);
    await rm(core.paths.blob(entry.digest).file);
    const again = await core.blobs.get(req);
    assert.equal(again.state, 'MISS', 'not a HIT on a missing blob');
    assert.ok((await collect(again.open())).equals(body));
    await again.done();
    assert.equal(fetches, 2);
    assert.equal((await core.blobs.get(req)).state, 'HIT');
  } finally {
    await core.close();
  }
});

test('serve(key, plan) plans only a real miss: hits and joins of a fill in flight never call the plan', async () => {
  const core = await makeCore();
  try {
    const body = randomBytes(300_000);
    let plans = 0;
    const plan = () => {
      plans++;
      return { key: 'p', expected: [sha512(body)], fetch: async () => slowResponse(body, { delayMs: 2 }) };
    };
    const served = await Promise.all([core.blobs.serve('p', plan), core.blobs.serve('p', plan), core.blobs.serve('p', plan)]);
    assert.equal(plans, 1);
    for (const s of served) assert.ok((await collect(s.open())).equals(body));
    await served[0]!.done();
    assert.equal((await core.blobs.serve('p', plan)).state, 'HIT');
    assert.equal(plans, 1);
  } finally {
    await core.close();
  }
});
