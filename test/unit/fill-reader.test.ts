/**
 * A fill's body sent with sendTo (as the HTTP layer does): a client slower
 * than the upstream gets the bytes the temp file already holds through the
 * pool of reused buffers, whole bodies and ranges arrive intact, and a body
 * that fails verification ends in a failed transfer, never a clean short one.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, get as httpGet, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSendable, pooledBytes } from '../../daemon/core/fill/blob-stream.js';
import type { ByteRange } from '../../daemon/core/served.js';
import type { ExpectedDigest } from '../../daemon/core/types.js';
import { makeCore, slowResponse, type CoreHarness } from '../helpers/core.js';

const sha512 = (b: Buffer): ExpectedDigest => ({ algo: 'sha512', hex: createHash('sha512').update(b).digest('hex') });

/** GETs `url`, pausing after the first chunk (so the fill runs ahead), and reports the body and whether it ended cleanly. */
function slowGet(url: string): Promise<{ body: Buffer; clean: boolean }> {
  return new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (chunks.length === 1) {
          res.pause();
          setTimeout(() => res.resume(), 400);
        }
      });
      res.on('end', () => resolve({ body: Buffer.concat(chunks), clean: true }));
      res.on('error', () => resolve({ body: Buffer.concat(chunks), clean: false }));
      res.on('aborted', () => resolve({ body: Buffer.concat(chunks), clean: false }));
    }).on('error', reject);
  });
}

/** A server that answers each GET with a fresh cold fill of `body` (served as `expected` says), sent with sendTo. */
async function fillServer(
  core: CoreHarness,
  body: Buffer,
  expected: ExpectedDigest,
  range?: ByteRange,
): Promise<{ url: string; outcomes: Array<Promise<unknown>>; close(): Promise<void> }> {
  const outcomes: Array<Promise<unknown>> = [];
  let n = 0;
  const server = createServer((_req, res: ServerResponse) => {
    void (async () => {
      const served = await core.blobs.get({
        key: `k${n++}`,
        expected: [expected],
        fetch: async () => slowResponse(body, { chunk: 64 * 1024 }),
      });
      const stream = served.open(range);
      assert.ok(isSendable(stream), 'a fill body can be sent through pooled buffers');
      res.writeHead(200, { 'content-length': String(range ? range.end - range.start + 1 : body.length) });
      const sent = stream.sendTo(res).catch((e: Error) => {
        res.destroy();
        return e;
      });
      outcomes.push(sent);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    outcomes,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

test('a slow client of a fill gets the whole body and ranges intact, the file part through pooled buffers', async () => {
  const core = await makeCore();
  const body = randomBytes(16 * 1024 * 1024 + 5);
  const whole = await fillServer(core, body, sha512(body));
  const part = await fillServer(core, body, sha512(body), { start: 70_000, end: 13_500_000 });
  try {
    const before = pooledBytes();
    const got = await slowGet(whole.url);
    assert.ok(got.clean);
    assert.ok(got.body.equals(body));
    assert.equal(await whole.outcomes[0], body.length);
    assert.ok(pooledBytes() > before, 'bytes read back from the temp file went through the pool');
    const r = await slowGet(part.url);
    assert.ok(r.clean);
    assert.ok(r.body.equals(body.subarray(70_000, 13_500_001)));
  } finally {
    await whole.close();
    await part.close();
    await core.close();
  }
});

test('a fill that fails verification fails the transfer and the send', async () => {
  const core = await makeCore();
  const body = randomBytes(2 * 1024 * 1024);
  const wrong = Buffer.from(body);
  wrong[wrong.length - 1]! ^= 1;
  const srv = await fillServer(core, body, sha512(wrong));
  try {
    const got = await slowGet(srv.url);
    assert.equal(got.clean, false);
    assert.ok(got.body.length < body.length);
    const outcome = await srv.outcomes[0];
    assert.ok(outcome instanceof Error);
    await sleep(10);
  } finally {
    await srv.close();
    await core.close();
  }
});
