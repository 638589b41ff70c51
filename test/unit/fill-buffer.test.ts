/**
 * FillBuffer: chunks are written to the temp file behind the network, the
 * newest KEEP bytes (and anything unwritten) stay readable from memory,
 * older bytes are read from the file, and a write error surfaces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FillBuffer, KEEP, MAX_UNWRITTEN } from '../../daemon/core/fill/buffer.js';
import type { TempBlob } from '../../daemon/core/ports.js';
import { FsBlobStore } from '../../daemon/storage/fs-blob-store.js';
import { DataPaths } from '../../daemon/storage/paths.js';
import { tempDir } from '../helpers/daemon.js';

/** A temp file in memory whose writes can be held back or made to fail. */
class MemTemp implements TempBlob {
  readonly path = '/mem';
  written = 0;
  data = Buffer.alloc(0);
  writes = 0;
  /** Most buffers one write was handed. */
  widest = 0;
  gate: Promise<void> | undefined;
  fail: Error | undefined;
  async write(data: Buffer | readonly Buffer[]): Promise<void> {
    this.writes++;
    await this.gate;
    if (this.fail) throw this.fail;
    this.widest = Math.max(this.widest, Buffer.isBuffer(data) ? 1 : data.length);
    const chunk = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    this.data = Buffer.concat([this.data, chunk]);
    this.written += chunk.length;
  }
  async read(into: Buffer, position: number, length: number): Promise<number> {
    return this.data.copy(into, 0, position, position + length);
  }
  async commit(): Promise<void> {}
  async abort(): Promise<void> {}
  async release(): Promise<void> {}
}

test('bytes reach the file in order, batched while the disk is behind; the newest KEEP bytes stay in memory', async () => {
  const temp = new MemTemp();
  const buf = new FillBuffer(temp);
  const body = randomBytes(3 * KEEP + 12345);
  let release!: () => void;
  temp.gate = new Promise((r) => (release = r));
  const chunk = 64 * 1024;
  for (let off = 0; off < KEEP * 2; off += chunk) await buf.push(body.subarray(off, off + chunk));
  assert.equal(temp.written, 0, 'the network did not wait for the disk');
  assert.ok(buf.slice(0, 10)?.equals(body.subarray(0, 10)), 'unwritten bytes are readable from memory');
  release();
  temp.gate = undefined;
  for (let off = KEEP * 2; off < body.length; off += chunk) await buf.push(body.subarray(off, off + chunk));
  await buf.drain();
  assert.ok(temp.data.equals(body));
  assert.ok(temp.writes < body.length / chunk, `${temp.writes} writes for ${Math.ceil(body.length / chunk)} chunks`);
  assert.equal(buf.slice(0, 10), undefined, 'old, written bytes are read from the file');
  const tail = buf.slice(body.length - KEEP, 100);
  assert.ok(tail?.equals(body.subarray(body.length - KEEP, body.length - KEEP + 100)));
  assert.equal(buf.slice(body.length, 1), undefined);
  buf.release();
  assert.equal(buf.slice(body.length - 10, 10), undefined);
});

test('the upstream waits once MAX_UNWRITTEN bytes are queued, and a write error surfaces in push and drain', async () => {
  const temp = new MemTemp();
  const buf = new FillBuffer(temp);
  let release!: () => void;
  temp.gate = new Promise((r) => (release = r));
  const big = Buffer.alloc(MAX_UNWRITTEN + 1);
  let pushed = false;
  const p = buf.push(big).then(() => (pushed = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(pushed, false, 'held until the disk catches up');
  release();
  await p;
  assert.equal(temp.written, big.length);

  temp.fail = new Error('ENOSPC');
  await buf.push(Buffer.alloc(10)).catch(() => undefined);
  await assert.rejects(buf.drain(), /ENOSPC/);
  await assert.rejects(buf.push(Buffer.alloc(10)), /ENOSPC/);
});

test('queued chunks go out as one vectored write, a drip of tiny chunks as one copied buffer', async () => {
  const temp = new MemTemp();
  const buf = new FillBuffer(temp);
  let release!: () => void;
  temp.gate = new Promise((r) => (release = r));
  const body = randomBytes(5000);
  for (let i = 0; i < 10; i++) await buf.push(body.subarray(i * 500, (i + 1) * 500));
  release();
  await buf.drain();
  assert.equal(temp.widest, 9, 'the nine chunks that arrived during the first write went out together, uncopied');
  temp.widest = 0;
  temp.gate = new Promise((r) => (release = r));
  const drip = randomBytes(3000);
  for (let i = 0; i < drip.length; i++) await buf.push(drip.subarray(i, i + 1));
  release();
  await buf.drain();
  assert.equal(temp.widest, 1, '2999 one-byte chunks were copied into one buffer, not handed to writev');
  assert.ok(temp.data.equals(Buffer.concat([body, drip])));
});

test('the fs temp file takes several buffers in one write and reads them back in order', async () => {
  const dir = await tempDir('larder-temp-writev-');
  const store = new FsBlobStore(new DataPaths(dir));
  await store.init();
  const temp = await store.createTemp();
  const parts = [randomBytes(70_000), randomBytes(1), Buffer.alloc(0), randomBytes(200_000)];
  await temp.write(parts);
  await temp.write(randomBytes(10));
  const all = Buffer.concat(parts);
  assert.equal(temp.written, all.length + 10);
  const back = Buffer.alloc(all.length);
  assert.equal(await temp.read(back, 0, all.length), all.length);
  assert.ok(back.equals(all));
  await temp.abort();
  await temp.release();
});
