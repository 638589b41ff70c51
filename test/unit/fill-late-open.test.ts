/**
 * Regression: a MISS answer whose body is opened only after its fill has
 * committed and closed the temp file must still stream the bytes (from the
 * committed blob), not fail with "file closed". Also: many upstream requests
 * in flight on the caches' shared abort signal raise no listener-leak warning.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExpectedDigest } from '../../daemon/core/types.js';
import { collect, makeCore, slowResponse } from '../helpers/core.js';

const sha512 = (b: Buffer): ExpectedDigest => ({ algo: 'sha512', hex: createHash('sha512').update(b).digest('hex') });

test('a MISS opened after its fill committed reads the committed blob', async () => {
  const core = await makeCore();
  try {
    const body = randomBytes(300_000);
    let fetches = 0;
    const req = {
      key: 'late',
      expected: [sha512(body)],
      fetch: async () => {
        fetches++;
        return slowResponse(body, { delayMs: 1 });
      },
    };
    const leader = await core.blobs.get(req);
    const late = await core.blobs.get(req);
    assert.equal(late.state, 'MISS');
    assert.ok((await collect(leader.open())).equals(body));
    await leader.done();
    await sleep(50); // the temp handle is closed by now
    assert.ok((await collect(late.open())).equals(body));
    assert.ok((await collect(late.open({ start: 10, end: 99 }))).equals(body.subarray(10, 100)));
    assert.equal(fetches, 1);
  } finally {
    await core.close();
  }
});

test('many fills in flight do not trip the MaxListeners warning', async () => {
  const core = await makeCore();
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const bodies = Array.from({ length: 16 }, () => randomBytes(50_000));
    const served = await Promise.all(
      bodies.map((b, i) =>
        core.blobs.get({
          key: `k${i}`,
          expected: [sha512(b)],
          fetch: async (signal) => {
            signal.addEventListener('abort', () => undefined, { once: true });
            return slowResponse(b, { delayMs: 2 });
          },
        }),
      ),
    );
    const got = await Promise.all(served.map((s) => collect(s.open())));
    for (const [i, g] of got.entries()) assert.ok(g.equals(bodies[i]!));
    await sleep(10);
    assert.deepEqual(
      warnings.filter((n) => n === 'MaxListenersExceededWarning'),
      [],
    );
  } finally {
    process.off('warning', onWarning);
    await core.close();
  }
});
