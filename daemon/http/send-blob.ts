/**
 * Sends a committed blob (or a range of it) to a client by positional reads
 * into reused buffers. A read stream allocates a fresh 64 KiB buffer per
 * chunk: serving multi-MB artifacts to many clients made thousands of them
 * a second, and V8's external memory climbed by tens of MB between
 * collections. Here a buffer goes back to a small shared pool once the
 * socket reports its chunk written (the write callback), so steady-state
 * sending allocates nothing.
 */
import type { ServerResponse } from 'node:http';
import type { BlobReader } from '../core/ports.js';

const CHUNK = 64 * 1024;
/** Idle buffers kept for reuse (4 MiB). */
const POOL_MAX = 64;
const pool: Buffer[] = [];

/** Bytes the pool holds now (for tests). */
export function pooledBytes(): number {
  return pool.length * CHUNK;
}

/**
 * Writes bytes [start, end] (inclusive) of the blob to `res` and ends it,
 * waiting for `drain` when the socket is full. Resolves with the bytes
 * handed to the socket; rejects when the client went away or the blob is
 * shorter than expected (the caller destroys the response). The reader is
 * closed either way.
 */
export async function sendBlob(res: ServerResponse, reader: BlobReader, start: number, end: number): Promise<number> {
  let pos = start;
  let sent = 0;
  try {
    while (pos <= end) {
      if (res.destroyed) throw new Error('the client went away');
      const buf = pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
      const n = await reader.read(buf, pos, Math.min(CHUNK, end + 1 - pos));
      if (n <= 0) throw new Error(`the blob ended at ${pos} of ${end + 1} bytes`);
      pos += n;
      sent += n;
      const more = res.write(n === CHUNK ? buf : buf.subarray(0, n), (err) => {
        if (!err && pool.length < POOL_MAX) pool.push(buf);
      });
      if (!more) await drained(res);
    }
    res.end();
    return sent;
  } finally {
    await reader.close().catch(() => undefined);
  }
}

/** Resolves on `drain`, or on `close` (the next iteration sees the destroyed response). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
