/**
 * Verification, written once for every fill: hash each chunk as it arrives
 * (sha256 always, for the CAS address, plus every algorithm the protocol
 * expects), refuse a body past its limit as soon as it gets there, and at
 * the end check the size and every expected digest. Streaming fills,
 * in-memory fills, pass-through and documents all use this class.
 */
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { LarderError } from '../errors.js';
import { MultiHasher, findMismatch } from '../digest.js';
import type { ExpectedDigest, HashAlgo } from '../types.js';
import type { ByteRange } from '../served.js';

/** Bytes of a body that no reader gets before the whole body verified. */
export const HOLDBACK = 64 * 1024;

export interface FillSpec {
  key: string;
  expected: readonly ExpectedDigest[];
  /** Size announced by the upstream or the protocol, verified at the end. */
  expectedSize?: number;
  /** Hard limit; a larger body fails the fill with E_UPSTREAM. */
  maxBytes?: number;
}

export interface FillResult {
  /** `sha256:<hex>`: the CAS address. */
  digest: string;
  size: number;
  digests: Partial<Record<HashAlgo, string>>;
}

export class Verifier {
  private readonly hasher: MultiHasher;

  constructor(readonly spec: FillSpec) {
    this.hasher = new MultiHasher(spec.expected.map((e) => e.algo));
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.hasher.bytes;
  }

  /** Hashes one chunk; throws once the body is longer than its limit or its announced size. */
  update(chunk: Buffer): void {
    this.hasher.update(chunk);
    const { maxBytes, expectedSize, key } = this.spec;
    if (maxBytes !== undefined && this.hasher.bytes > maxBytes) {
      throw new LarderError('E_UPSTREAM', `${key}: upstream body exceeds ${maxBytes} bytes`, { details: { maxBytes } });
    }
    if (expectedSize !== undefined && this.hasher.bytes > expectedSize) {
      throw sizeMismatch(key, expectedSize, this.hasher.bytes);
    }
  }

  /** The result of the finished body, or E_INTEGRITY when its size or a digest is not what the spec expects. */
  finish(): FillResult {
    const digests = this.hasher.digests();
    const size = this.hasher.bytes;
    const { key, expectedSize, expected } = this.spec;
    if (expectedSize !== undefined && size !== expectedSize) throw sizeMismatch(key, expectedSize, size);
    const bad = findMismatch(expected, digests);
    if (bad) {
      throw new LarderError('E_INTEGRITY', `${key}: ${bad.algo} mismatch`, {
        details: { algo: bad.algo, expected: bad.hex, actual: digests[bad.algo] },
      });
    }
    return { digest: `sha256:${digests.sha256}`, size, digests };
  }
}

function sizeMismatch(key: string, expectedSize: number, size: number): LarderError {
  return new LarderError('E_INTEGRITY', `${key}: expected ${expectedSize} bytes, got ${size}`, { details: { expectedSize, size } });
}

/** Reads a whole body through a verifier (documents and small artifacts). Destroys the body on failure. */
export async function readVerified(body: Readable, spec: FillSpec): Promise<{ body: Buffer; result: FillResult }> {
  const verifier = new Verifier(spec);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      verifier.update(chunk);
      chunks.push(chunk);
    }
  } catch (err) {
    body.destroy();
    throw err;
  }
  const result = verifier.finish();
  return { body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, result.size), result };
}

/**
 * Streams `body` through a verifier, optionally cutting out an inclusive
 * byte range. The last HOLDBACK bytes are released only once the body
 * verified; on a mismatch the stream errors instead of ending, so a client
 * sees a failed transfer, never a complete wrong file.
 */
export function verifyingStream(body: Readable, spec: FillSpec, range?: ByteRange, onResult?: (r: FillResult) => void): Readable {
  const verifier = new Verifier(spec);
  const held: Buffer[] = [];
  let heldBytes = 0;
  let out = 0;
  /** A range's last byte, held until the body verified (a short range must not end cleanly before that). */
  let last: Buffer | undefined;
  const emit = (t: Transform, buf: Buffer): void => {
    const start = out;
    out += buf.length;
    if (!range) return void t.push(buf);
    const from = Math.max(range.start, start);
    const to = Math.min(range.end, out);
    if (from < to) t.push(buf.subarray(from - start, to - start));
    if (range.end >= start && range.end < out) last = buf.subarray(range.end - start, range.end - start + 1);
  };
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        verifier.update(chunk);
      } catch (err) {
        return cb(err as Error);
      }
      held.push(chunk);
      heldBytes += chunk.length;
      while (heldBytes > HOLDBACK) {
        const first = held[0]!;
        const release = Math.min(first.length, heldBytes - HOLDBACK);
        if (release === first.length) held.shift();
        else held[0] = first.subarray(release);
        heldBytes -= release;
        emit(this, release === first.length ? first : first.subarray(0, release));
      }
      cb();
    },
    flush(cb: TransformCallback) {
      let result: FillResult;
      try {
        result = verifier.finish();
      } catch (err) {
        return cb(err as Error);
      }
      for (const b of held.splice(0)) emit(this, b);
      if (last) this.push(last);
      onResult?.(result);
      cb();
    },
  });
  // pipeline destroys the upstream body when the client goes away, and the client stream on upstream errors.
  pipeline(body, stream, () => undefined);
  return stream;
}
