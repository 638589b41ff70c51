/**
 * BlobReadStream: sent with sendTo, ranges arrive intact through reused
 * buffers with backpressure, a blob shorter than its entry fails the
 * transfer (never a clean short body), and a client that leaves stops the
 * reads and closes the file; read as a plain Readable it gives the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, get as httpGet, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BlobReader } from '../../daemon/core/ports.js';
import { BlobReadStream, isSendable, pooledBytes } from '../../daemon/core/fill/blob-stream.js';
import { bufferStream } from '../../daemon/core/fill/in-memory.js';

function memReader(data: Buffer, stats: { reads: number; closed: boolean }): BlobReader {
  return {
    async read(into, position, length) {
      stats.reads++;
      await new Promise((r) => setImmediate(r));
      return data.copy(into, 0, position, Math.min(data.length, position + length));
    },
    async close() {
      stats.closed = true;
    },
  };
}

/** A server answering every request with `handler`, and a GET helper. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, close: () => new Promise((r) => server.close(() => r())) };
}

function fetchAll(url: string): Promise<{ body: Buffer; error?: Error; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: Buffer.concat(chunks), res }));
      res.on('error', (error) => resolve({ body: Buffer.concat(chunks), error, res }));
    }).on('error', reject);
  });
}

test('a whole blob and a range arrive intact; the buffers go back to the pool', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const stats = { reads: 0, closed: false };
  let range = false;
  const srv = await serve((_req, res) => {
    const [start, end] = range ? [100_000, 2_000_000] : [0, data.length - 1];
    res.writeHead(200, { 'content-length': String(end - start + 1) });
    void new BlobReadStream(async () => memReader(data, stats), start, end).sendTo(res);
  });
  try {
    const whole = await fetchAll(srv.url);
    assert.ok(whole.body.equals(data));
    assert.ok(stats.closed);
    assert.ok(pooledBytes() > 0, 'written buffers are kept for reuse');
    range = true;
    const part = await fetchAll(srv.url);
    assert.ok(part.body.equals(data.subarray(100_000, 2_000_001)));
  } finally {
    await srv.close();
  }
});

test('a blob shorter than announced fails the transfer; the file is closed', async () => {
  const data = randomBytes(200_000);
  const stats = { reads: 0, closed: false };
  const srv = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': '300000' });
    new BlobReadStream(async () => memReader(data, stats), 0, 299_999).sendTo(res).catch(() => res.destroy());
  });
  try {
    const r = await fetchAll(srv.url).catch((error: Error) => ({ body: Buffer.alloc(0), error }));
    assert.ok(r.error, 'not a clean end');
    assert.ok(r.body.length < 300_000);
    assert.ok(stats.closed);
  } finally {
    await srv.close();
  }
});

test('a client that leaves stops the reads', async () => {
  const data = randomBytes(64 * 1024 * 1024);
  const stats = { reads: 0, closed: false };
  let outcome: Promise<unknown> = Promise.resolve();
  const srv = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': String(data.length) });
    outcome = new BlobReadStream(async () => memReader(data, stats), 0, data.length - 1).sendTo(res).catch((e: Error) => e);
  });
  try {
    await new Promise<void>((resolve) => {
      httpGet(srv.url, (res) => {
        res.once('data', () => {
          res.destroy();
          resolve();
        });
      });
    });
    const result = await outcome;
    assert.ok(result instanceof Error, 'the send failed instead of reading on');
    assert.ok(stats.reads < 1024, `${stats.reads} reads of 1024`);
    assert.ok(stats.closed);
  } finally {
    await srv.close();
  }
});

test('read as a plain stream, a range gives the same bytes and closes the file', async () => {
  const data = randomBytes(300_000);
  const stats = { reads: 0, closed: false };
  const chunks: Buffer[] = [];
  for await (const c of new BlobReadStream(async () => memReader(data, stats), 1000, 250_000)) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(data.subarray(1000, 250_001)));
  await new Promise((r) => setImmediate(r));
  assert.ok(stats.closed);
});

test('a body in memory (bufferStream) is sendable: a range arrives intact in one write; read as a stream it gives the same bytes', async () => {
  const data = randomBytes(100_000);
  const served: number[] = [];
  const srv = await serve((_req, res) => {
    const stream = bufferStream(data, { start: 10, end: 50_009 });
    assert.ok(isSendable(stream), 'the HTTP layer sends it without a pipeline');
    res.writeHead(200, { 'content-length': '50000' });
    void stream.sendTo(res).then((n) => served.push(n));
  });
  try {
    const r = await fetchAll(srv.url);
    assert.ok(r.body.equals(data.subarray(10, 50_010)));
    assert.deepEqual(served, [50_000]);
  } finally {
    await srv.close();
  }
  const chunks: Buffer[] = [];
  for await (const c of bufferStream(data)) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(data));
});
