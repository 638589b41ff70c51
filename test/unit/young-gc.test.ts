/**
 * `larder serve` asks V8 for a young-generation collection after every MiB
 * of upstream body (daemon/cli/young-gc.ts): the pacer's arithmetic, the
 * gc handle it gets without exposing `gc` globally, the client reporting
 * every body byte, and the point of it all: dead socket and parser buffers
 * of a streamed upstream body do not pile up outside V8's heap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { YoungGcPacer, youngGcOnUpstreamBytes } from '../../daemon/cli/young-gc.js';
import { GotUpstreamClient } from '../../daemon/upstream/client.js';

const run = promisify(execFile);

test('the pacer collects once per full step of bytes, never in between', () => {
  let collected = 0;
  const pacer = new YoungGcPacer(() => collected++, 1000);
  pacer.account(400);
  pacer.account(599);
  assert.equal(collected, 0);
  pacer.account(1);
  assert.equal(collected, 1);
  pacer.account(5000);
  assert.equal(collected, 2, 'a big chunk is one collection, and the count starts again');
  pacer.account(999);
  assert.equal(collected, 2);
  assert.equal(pacer.collections, 2);
});

test('a MiB of upstream body runs a real scavenge; gc stays hidden; LARDER_V8_TUNING=0 turns it off', async () => {
  assert.equal(youngGcOnUpstreamBytes({ LARDER_V8_TUNING: '0' }), undefined);
  const hadGc = 'gc' in globalThis;
  const account = youngGcOnUpstreamBytes({});
  assert.ok(account);
  assert.equal('gc' in globalThis, hadGc, 'the global gets no gc function');
  const kinds: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) kinds.push((e.detail as { kind: number }).kind);
  });
  obs.observe({ entryTypes: ['gc'] });
  account(512 * 1024);
  account(512 * 1024);
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  assert.ok(kinds.includes(constants.NODE_PERFORMANCE_GC_MINOR), `gc kinds seen: ${kinds.join(',')}`);
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

async function stream(paced: boolean): Promise<{ bytes: number; maxMb: number }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', STREAM], {
    env: { ...process.env, PACED: paced ? '1' : '0' },
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim()) as { bytes: number; maxMb: number };
}

test('dead buffers of a streamed upstream body are freed as it streams, not after tens of MB', async () => {
  const [plain, paced] = await Promise.all([stream(false), stream(true)]);
  assert.equal(plain.bytes, 24 * 1024 * 1024);
  assert.equal(paced.bytes, 24 * 1024 * 1024);
  assert.ok(plain.maxMb > 16, `without pacing the dead buffers pile up (${plain.maxMb.toFixed(1)} MB), or this test proves nothing`);
  assert.ok(paced.maxMb < 10, `with pacing at most a few MiB are held (${paced.maxMb.toFixed(1)} MB)`);
});
