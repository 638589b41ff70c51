/**
 * WriteBehind: queued disk work waits while clients keep touching the
 * caches, runs once they pause, never later than maxDelayMs, at once past
 * maxBytes or when asked (urgent), and flush waits for all of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WriteBehind } from '../../daemon/core/write-behind.js';

const clock = { now: () => Date.now() };

test('work waits while clients are busy and runs once they pause', async () => {
  const wb = new WriteBehind(clock, { quietMs: 100, maxDelayMs: 5000 });
  let ran = 0;
  const done = wb.run(10, async () => void ran++);
  for (let i = 0; i < 6; i++) {
    wb.touch();
    await sleep(40);
  }
  assert.equal(ran, 0, 'still busy: nothing written');
  assert.equal(wb.pending, 1);
  await done;
  assert.equal(ran, 1);
  assert.equal(wb.pending, 0);
});

test('busy clients delay work by maxDelayMs at most; maxBytes and urgent run it at once; results and failures reach the caller', async () => {
  const wb = new WriteBehind(clock, { quietMs: 1000, maxDelayMs: 150, maxBytes: 100 });
  const t0 = Date.now();
  const stop = setInterval(() => wb.touch(), 20);
  try {
    assert.equal(await wb.run(1, async () => 'late'), 'late');
    const waited = Date.now() - t0;
    assert.ok(waited >= 140 && waited < 900, `ran after ${waited} ms`);

    let big = false;
    const p = wb.run(101, async () => {
      big = true;
    });
    await sleep(0);
    assert.equal(big, true, 'too many bytes held: written at once');
    await p;

    let asked = false;
    const q = wb.run(1, async () => {
      asked = true;
    });
    wb.urgent();
    await sleep(0);
    assert.equal(asked, true);
    await q;

    await assert.rejects(
      (async () => {
        const r = wb.run(1, async () => {
          throw new Error('ENOSPC');
        });
        wb.urgent();
        await r;
      })(),
      /ENOSPC/,
    );
  } finally {
    clearInterval(stop);
  }
});

test('flush starts everything and waits for it', async () => {
  const wb = new WriteBehind(clock, { quietMs: 10_000, maxDelayMs: 10_000 });
  const order: number[] = [];
  for (const n of [1, 2, 3])
    void wb.run(1, async () => {
      await sleep(20);
      order.push(n);
    });
  await wb.flush();
  assert.deepEqual(order.sort(), [1, 2, 3]);
});
