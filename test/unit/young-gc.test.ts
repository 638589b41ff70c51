/**
 * `larder serve` asks V8 for a young-generation collection after every MiB
 * of upstream body (daemon/cli/young-gc.ts): the pacer's arithmetic, the
 * gc handle it gets without exposing `gc` globally, the client reporting
 * every body byte, and the point of it all: dead socket and parser buffers
 * of a streamed upstream body do not pile up outside V8's heap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getHeapSpaceStatistics } from 'node:v8';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { YoungGcPacer, youngGcOnUpstreamBytes } from '../../daemon/cli/young-gc.js';
import { GotUpstreamClient } from '../../daemon/upstream/client.js';
import { runModuleProbe } from '../helpers/module-probe.js';

test('the pacer collects once per full step of bytes, never in between', () => {
  let collected = 0;
  const account = new YoungGcPacer(() => collected++, 1000).account;
  account(400);
  account(599);
  assert.equal(collected, 0);
  account(1);
  assert.equal(collected, 1);
  account(5000);
  assert.equal(collected, 2, 'a chunk worth several steps is one collection, and the count starts again');
  account(999);
  assert.equal(collected, 2);
});

test('a MiB of upstream body empties the young generation at once; gc stays hidden; LARDER_V8_TUNING=0 turns it off', () => {
  assert.equal(youngGcOnUpstreamBytes({ LARDER_V8_TUNING: '0' }), undefined);
  const hadGc = 'gc' in globalThis;
  const account = youngGcOnUpstreamBytes({});
  assert.ok(account);
  assert.equal('gc' in globalThis, hadGc, 'the global gets no gc function');
  const youngUsed = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
  // Fill the young generation with garbage, synchronously, so no collection of V8's own can intervene.
  let junk: unknown[] = [];
  for (let i = 0; i < 2000; i++) junk.push({ i, s: `x${i}` });
  junk = [];
  const before = youngUsed();
  account(512 * 1024);
  assert.ok(youngUsed() >= before, 'half a MiB does not collect');
  account(512 * 1024);
  const after = youngUsed();
  assert.ok(after < before / 2, `the second half collects: young generation ${before} -> ${after} bytes`);
  assert.equal(junk.length, 0);
});

test('the upstream client reports every body byte it hands out', async () => {
  const payload = randomBytes(300 * 1024 + 17);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(payload.length) });
    for (let at = 0; at < payload.length; at += 10_000) res.write(payload.subarray(at, at + 10_000));
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    let reported = 0;
    const client = new GotUpstreamClient({ onBodyBytes: (n) => (reported += n) });
    const res = await client.request({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x` });
    const chunks: Buffer[] = [];
    for await (const c of res.body as AsyncIterable<Buffer>) chunks.push(c);
    assert.ok(Buffer.concat(chunks).equals(payload), 'the body is handed out unchanged');
    assert.equal(reported, payload.length);
  } finally {
    server.close();
  }
});

test('a byte counter that throws fails that body, not the process', async () => {
  const server = createServer((_req, res) => res.end(randomBytes(4096)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const client = new GotUpstreamClient({ onBodyBytes: () => { throw new Error('counter broke'); } });
    const res = await client.request({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x` });
    await assert.rejects(async () => {
      for await (const _ of res.body as AsyncIterable<Buffer>) void _;
    }, /counter broke/);
  } finally {
    server.close();
  }
});

// Streams 24 MiB through the real client and records the most ArrayBuffer memory held meanwhile.
const CLIENT = fileURLToPath(new URL('../../daemon/upstream/client.ts', import.meta.url));
const YOUNG_GC = fileURLToPath(new URL('../../daemon/cli/young-gc.ts', import.meta.url));
const STREAM = `
import { createServer } from 'node:http';
const { GotUpstreamClient } = await import(${JSON.stringify(CLIENT)});
const { youngGcOnUpstreamBytes } = await import(${JSON.stringify(YOUNG_GC)});
const block = Buffer.alloc(1024 * 1024, 7);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-length': String(24 * block.length) });
  let left = 24;
  const more = () => { while (left > 0) { left--; if (!res.write(block)) return res.once('drain', more); } res.end(); };
  more();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const onBodyBytes = process.env.PACED === '1' ? youngGcOnUpstreamBytes({}) : undefined;
const client = new GotUpstreamClient({ onBodyBytes });
const res = await client.request({ url: 'http://127.0.0.1:' + server.address().port + '/big' });
let max = 0, bytes = 0;
for await (const c of res.body) { bytes += c.length; max = Math.max(max, process.memoryUsage().arrayBuffers); }
server.close();
console.log(JSON.stringify({ bytes, maxMb: max / 1048576 }));
`;

function stream(paced: boolean): Promise<{ bytes: number; maxMb: number }> {
  return runModuleProbe(STREAM, { PACED: paced ? '1' : '0' });
}

test('dead buffers of a streamed upstream body are freed as it streams, not after tens of MB', async () => {
  const [plain, paced] = await Promise.all([stream(false), stream(true)]);
  assert.equal(plain.bytes, 24 * 1024 * 1024);
  assert.equal(paced.bytes, 24 * 1024 * 1024);
  assert.ok(plain.maxMb > 16, `without pacing the dead buffers pile up (${plain.maxMb.toFixed(1)} MB), or this test proves nothing`);
  assert.ok(paced.maxMb < plain.maxMb / 3, `with pacing a few MiB are held (${paced.maxMb.toFixed(1)} MB, ${plain.maxMb.toFixed(1)} MB without)`);
});
