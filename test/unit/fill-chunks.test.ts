/**
 * chunksOf: a body's chunks one by one as they arrived (never copied
 * together, which `for await` over a Readable does when the consumer is
 * behind), with backpressure reaching the stream, the stream's error or a
 * premature close thrown, and an early return destroying the stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { chunksOf } from '../../daemon/core/fill/chunks.js';

const chunk = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

test('chunks buffered while the consumer was busy come out one by one, not concatenated', async () => {
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  for (let i = 0; i < 8; i++) body.write(chunk(1000, i));
  body.end();
  await tick();
  const sizes: number[] = [];
  for await (const c of chunksOf(body)) sizes.push(c.length);
  assert.deepEqual(sizes, [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);

  // What chunksOf avoids: the plain iterator hands over everything buffered as one copied buffer.
  const plain = new PassThrough({ highWaterMark: 1024 * 1024 });
  for (let i = 0; i < 8; i++) plain.write(chunk(1000, i));
  plain.end();
  await tick();
  const plainSizes: number[] = [];
  for await (const c of plain) plainSizes.push((c as Buffer).length);
  assert.deepEqual(plainSizes, [8000]);
});

test('a slow consumer pauses the stream, and it resumes once the queue drains', async () => {
  let produced = 0;
  const body = new Readable({
    highWaterMark: 1,
    read() {
      if (produced >= 100) return void this.push(null);
      produced++;
      this.push(chunk(16 * 1024, produced % 256));
    },
  });
  let seen = 0;
  let maxAhead = 0;
  for await (const c of chunksOf(body)) {
    assert.equal(c.length, 16 * 1024);
    seen++;
    maxAhead = Math.max(maxAhead, produced - seen);
    await tick();
  }
  assert.equal(seen, 100);
  // 256 KiB queued at most (16 chunks of 16 KiB), plus what the stream itself buffers.
  assert.ok(maxAhead <= 20, `the producer ran ${maxAhead} chunks ahead of a slow consumer`);
});

test("the stream's error is thrown after the chunks that came before it", async () => {
  const body = new PassThrough();
  body.write(chunk(5, 1));
  const got: number[] = [];
  const run = (async () => {
    for await (const c of chunksOf(body)) got.push(c.length);
  })();
  await tick();
  body.destroy(Object.assign(new Error('upstream went away'), { code: 'E_UPSTREAM' }));
  await assert.rejects(run, /upstream went away/);
  assert.deepEqual(got, [5]);
});

test('a stream closed before its end is a premature close, also when it was already destroyed', async () => {
  const body = new PassThrough();
  const run = (async () => {
    for await (const _ of chunksOf(body)) {
      // nothing arrives
    }
  })();
  await tick();
  body.destroy();
  await assert.rejects(run, { code: 'ERR_STREAM_PREMATURE_CLOSE' });

  const gone = new PassThrough();
  gone.destroy();
  await tick();
  await assert.rejects(
    (async () => {
      for await (const _ of chunksOf(gone)) {
        // nothing
      }
    })(),
    { code: 'ERR_STREAM_PREMATURE_CLOSE' },
  );
});

test('leaving the loop early destroys the stream and detaches the listeners', async () => {
  const body = new PassThrough();
  body.write(chunk(3, 1));
  body.write(chunk(3, 2));
  for await (const _ of chunksOf(body)) break;
  assert.equal(body.destroyed, true);
  assert.equal(body.listenerCount('data'), 0);
});
