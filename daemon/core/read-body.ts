/**
 * Whole upstream bodies read into memory (documents, manifests, token
 * responses, feeds) through the fill pipeline's verifier, with an optional
 * memory lease that grows as the bytes arrive.
 */
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import type { MemoryLease } from './memory-budget.js';
import type { UpstreamResponse } from './ports.js';
import { readVerified } from './fill/verify.js';

/**
 * Bytes a document fill holds per byte of document while it is read, parsed
 * and derived (the chunks and their concatenation, the parsed object, the
 * derived forms); measured on an 18 MiB packument: about 7x at the peak.
 */
export const FILL_FACTOR = 6;
/** A fill's lease grows in steps of this many document bytes. */
const FILL_STEP = 1024 * 1024;

/**
 * Reads a whole upstream body through the fill pipeline's verifier, refusing
 * more than `max` bytes (E_UPSTREAM); with a lease, the bytes (times what
 * deriving costs) are held against the memory budget as they arrive.
 */
export async function readBody(res: UpstreamResponse, max: number, what: string, lease?: MemoryLease): Promise<Buffer> {
  const body = lease ? pipeline(res.body, leased(lease, what), () => undefined) : res.body;
  return (await readVerified(body, { key: what, expected: [], maxBytes: max })).body;
}

/** Passes chunks on once the lease holds FILL_FACTOR times the bytes seen. */
function leased(lease: MemoryLease, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      const need = seen * FILL_FACTOR - lease.bytes;
      if (need <= 0) return done(null, chunk);
      lease.grow(Math.max(need, FILL_STEP * FILL_FACTOR), what).then(
        () => done(null, chunk),
        (err: unknown) => done(err as Error),
      );
    },
  });
}
