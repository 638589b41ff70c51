/**
 * Timeouts and the connection cap, against a real daemon with short limits
 * (config values, not performance claims): an idle socket is closed, slow
 * headers and a slow body are cut with 408, a slow-but-moving download is
 * not cut, nor the event stream or the feed's long-poll, and connections
 * past maxConnections are closed at once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';

const IDLE = '1s';
/** How long a test waits for something that must happen (far above the limits; never asserted as a timing). */
const PATIENCE = 15_000;
const BIG = 24 * 1024 * 1024;

let dir: string;
let up: StaticUpstream;
let d: TestDaemon;
const big = randomBytes(BIG);

before(async () => {
  dir = await tempDir('larder-limits-');
  await mkdir(join(dir, 'root', 'f'), { recursive: true });
  await writeFile(join(dir, 'root', 'f', 'big.bin'), big);
  up = await startStaticUpstream(join(dir, 'root'));
  up.intercept = (path, _url, res) => {
    if (!path.includes('/security/audits')) return false;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    return true;
  };
  d = await startTestDaemon({
    remotes: { web: { type: 'http', url: `${up.url}/f/`, layout: 'plain', ttl: '1h' }, npmjs: { type: 'npm', url: `${up.url}/` } },
    limits: { idleTimeout: IDLE, headerTimeout: '1s', requestTimeout: '2s' },
  });
});

after(async () => {
  await d.close();
  await up.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Raw {
  socket: Socket;
  data(): string;
  bytes(): number;
  closed: Promise<void>;
}

/** A raw connection; `allowHalfOpen` keeps writing after the daemon's FIN, as an uploading client does. */
async function open(url: string, allowHalfOpen = false): Promise<Raw> {
  const { hostname, port } = new URL(url);
  const socket = connect({ port: Number(port), host: hostname, allowHalfOpen });
  const chunks: Buffer[] = [];
  let n = 0;
  socket.on('data', (c: Buffer) => {
    n += c.length;
    if (chunks.length < 4) chunks.push(c);
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, data: () => Buffer.concat(chunks).toString('latin1'), bytes: () => n, closed };
}

/** Whether `p` settles within PATIENCE. */
async function within(p: Promise<unknown>): Promise<boolean> {
  return Promise.race([p.then(() => true), sleep(PATIENCE).then(() => false)]);
}

/** Sends `text` one byte at a time, every `ms`, until done or the socket closes. */
async function trickle(r: Raw, text: string, ms: number): Promise<void> {
  for (const ch of text) {
    if (r.socket.destroyed || !r.socket.writable) return;
    r.socket.write(ch);
    await sleep(ms);
  }
}

test('a socket that sends nothing is closed after the idle timeout', async () => {
  const r = await open(d.url);
  assert.ok(await within(r.closed), 'the idle socket was closed');
});

test('headers sent one byte at a time are cut with 408', async () => {
  const r = await open(d.url);
  void trickle(r, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${'X-Pad: y\r\n'.repeat(200)}\r\n`, 300);
  assert.ok(await within(r.closed), 'the connection was closed');
  assert.match(r.data(), /^HTTP\/1\.1 408/);
});

test('a request body sent one byte at a time is cut with 408', async () => {
  const r = await open(d.url);
  r.socket.write(
    'POST /npm/-/npm/v1/security/audits/quick HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n',
  );
  void trickle(r, `{"x":"${'a'.repeat(190)}"}`, 300);
  assert.ok(await within(r.closed), 'the connection was closed');
  assert.match(r.data(), /^HTTP\/1\.1 408/);
});

test('a download that keeps moving, slower than the idle timeout overall, is not cut', async () => {
  const warm = await fetch(`${d.url}/files/web/big.bin`);
  assert.equal(warm.status, 200);
  assert.equal((await warm.arrayBuffer()).byteLength, BIG);
  const r = await open(d.url);
  r.socket.write('GET /files/web/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  // Reads 1 MiB every 100 ms: the whole body takes several idle timeouts.
  let allowance = 1024 * 1024;
  const pace = setInterval(() => {
    allowance = r.bytes() + 1024 * 1024;
    r.socket.resume();
  }, 100);
  r.socket.on('data', () => {
    if (r.bytes() >= allowance) r.socket.pause();
  });
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let inBody = false;
  r.socket.on('data', (c: Buffer) => {
    if (inBody) return void hash.update(c);
    head.push(c);
    const all = Buffer.concat(head);
    const at = all.indexOf('\r\n\r\n');
    if (at < 0) return;
    inBody = true;
    hash.update(all.subarray(at + 4));
  });
  assert.ok(await within(r.closed), 'the download ended');
  clearInterval(pace);
  assert.match(r.data(), /^HTTP\/1\.1 200/);
  assert.equal(hash.digest('hex'), createHash('sha256').update(big).digest('hex'), 'every byte arrived');
});

test('the event stream and the feed long-poll outlive the idle timeout', async () => {
  const token = await adminToken(d.dataDir);
  const r = await open(d.url);
  r.socket.write(`GET /_/api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  const feed = fetch(`${d.url}/_/api/v1/feed?since=0&wait=3`, { headers: { authorization: `Bearer ${token}` } });
  await sleep(3_500); // three idle timeouts
  assert.match(r.data(), /^HTTP\/1\.1 200/);
  assert.equal(r.socket.destroyed, false, 'the event stream is still open');
  const res = await feed;
  assert.equal(res.status, 200, 'the long-poll answered');
  await res.arrayBuffer();
  r.socket.destroy();
});

test('connections past maxConnections are closed at once; the others are served', async () => {
  const capped = await startTestDaemon({ limits: { maxConnections: 3 } });
  try {
    const held = await Promise.all([open(capped.url), open(capped.url), open(capped.url)]);
    const extra = await open(capped.url);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.ok(await within(extra.closed), 'the extra connection was closed');
    assert.equal(extra.data(), '', 'and not answered');
    held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await within(held[0]!.closed);
    assert.match(held[0]!.data(), /^HTTP\/1\.1 200/);
    for (const h of held) h.socket.destroy();
  } finally {
    await capped.close();
  }
});

test('an upload answered before it arrived is read to its end (lingering close): the client meets no reset', async () => {
  const r = await open(d.url, true);
  const errors: string[] = [];
  r.socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
  // Above limits.maxBody (16 MiB): answered 413 from the head alone, while the body is still to come.
  const length = 20 * 1024 * 1024;
  r.socket.write(
    `POST /npm/-/npm/v1/security/audits/quick HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`,
  );
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  r.socket.write(chunk);
  while (!/^HTTP\/1\.1 413/.test(r.data()) && !r.socket.destroyed) await sleep(20);
  assert.match(r.data(), /^HTTP\/1\.1 413/);
  // The client learns of the answer late (as a busy uploader does) and sends the rest: closing at once with
  // these bytes unread would reset the connection, and a real client would see EPIPE instead of the 413.
  await sleep(300);
  for (let sent = chunk.length; sent < length && !r.socket.destroyed; sent += chunk.length) {
    if (!r.socket.write(chunk)) await Promise.race([new Promise((resolve) => r.socket.once('drain', resolve)), r.closed]);
  }
  if (!r.socket.destroyed) r.socket.end();
  assert.ok(await within(r.closed), 'the connection closed');
  assert.deepEqual(errors, [], 'no reset, no broken pipe');
});
